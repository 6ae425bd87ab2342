import Synchronization

/// Limit state in memory: the authority of one instance. Durable stores wrap it and persist
/// snapshots in the background.
public final class InMemoryLimitStore: LimitStore {
    public struct BudgetState: Sendable, Hashable {
        public var windowStart: Double
        public var spent: Double
        public var reserved: Double
        public init(windowStart: Double, spent: Double, reserved: Double) {
            self.windowStart = windowStart
            self.spent = spent
            self.reserved = reserved
        }
    }

    struct State {
        var rates: [LimitKey: WindowCounter] = [:]
        var budgets: [LimitKey: BudgetState] = [:]
        /// Keys changed since the last `drainChanges()`.
        var dirtyRates: Set<LimitKey> = []
        var dirtyBudgets: Set<LimitKey> = []
    }

    private let state = Mutex(State())
    private let trackChanges: Bool

    /// - Parameter trackChanges: record changed keys so a persister can drain them.
    public init(trackChanges: Bool = false) {
        self.trackChanges = trackChanges
    }

    public func consume(_ key: LimitKey, cost: Double, limit: Double, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> RateDecision {
        state.withLock { s in
            let decision = s.rates[key, default: WindowCounter()].consume(cost: cost, limit: limit, window: window, technique: technique, now: now)
            if trackChanges, decision.isAllowed { s.dirtyRates.insert(key) }
            return decision
        }
    }

    public func reserve(_ key: LimitKey, amount: Double, limit: Double, window: Seconds, now: Double) -> BudgetDecision {
        let start = WindowCounter.windowStart(for: now, window: window)
        return state.withLock { s in
            var b = s.budgets[key] ?? BudgetState(windowStart: start, spent: 0, reserved: 0)
            if b.windowStart != start {
                // Reservations made in the previous window still reconcile against it; the new
                // window starts empty.
                b = BudgetState(windowStart: start, spent: 0, reserved: 0)
            }
            if b.spent + b.reserved + amount > limit + 1e-12 || b.spent >= limit {
                s.budgets[key] = b
                return .exceeded(retryAfter: max(start + window - now, 0.001))
            }
            b.reserved += amount
            s.budgets[key] = b
            if trackChanges { s.dirtyBudgets.insert(key) }
            return .reserved(BudgetReservation(key: key, windowStart: start, amount: amount))
        }
    }

    public func reconcile(_ reservation: BudgetReservation, actualCost: Double) {
        state.withLock { s in
            guard var b = s.budgets[reservation.key], b.windowStart == reservation.windowStart else {
                // The window rolled over while the request ran: the cost counts in the new window.
                if var b = s.budgets[reservation.key] {
                    b.spent += actualCost
                    s.budgets[reservation.key] = b
                    if trackChanges { s.dirtyBudgets.insert(reservation.key) }
                }
                return
            }
            b.reserved = max(0, b.reserved - reservation.amount)
            b.spent += actualCost
            s.budgets[reservation.key] = b
            if trackChanges { s.dirtyBudgets.insert(reservation.key) }
        }
    }

    public func budgetUsage(_ key: LimitKey, window: Seconds, now: Double) -> (spent: Double, reserved: Double) {
        let start = WindowCounter.windowStart(for: now, window: window)
        return state.withLock { s in
            guard let b = s.budgets[key], b.windowStart == start else { return (0, 0) }
            return (b.spent, b.reserved)
        }
    }

    // MARK: Persistence hooks

    /// Changed counters since the last call (only with `trackChanges`). Reserved amounts are not
    /// persisted: after a crash, in-flight reservations are simply gone.
    public func drainChanges() -> (rates: [LimitKey: WindowCounter], budgets: [LimitKey: BudgetState]) {
        state.withLock { s in
            var rates: [LimitKey: WindowCounter] = [:]
            var budgets: [LimitKey: BudgetState] = [:]
            for k in s.dirtyRates { rates[k] = s.rates[k] }
            for k in s.dirtyBudgets { budgets[k] = s.budgets[k] }
            s.dirtyRates.removeAll(keepingCapacity: true)
            s.dirtyBudgets.removeAll(keepingCapacity: true)
            return (rates, budgets)
        }
    }

    /// Loads persisted state at startup.
    public func restore(rates: [LimitKey: WindowCounter], budgets: [LimitKey: BudgetState]) {
        state.withLock { s in
            for (k, v) in rates { s.rates[k] = v }
            for (k, v) in budgets { s.budgets[k] = BudgetState(windowStart: v.windowStart, spent: v.spent, reserved: 0) }
        }
    }
}
