import Synchronization

/// Limit state in memory: the authority of one instance. Durable stores wrap it and persist
/// snapshots in the background.
///
/// Bounded, because keys come from requests:
/// - **Eviction.** A counter is dropped once it reads zero for good: a rate counter when its
///   window and the one after it have passed (sliding windows weigh the previous window), a
///   budget when its window has passed and no reservation is outstanding. A dropped counter
///   decides exactly as the one it replaces would have (as long as the clock does not go back by a
///   window, and the route keeps the window it had). Each entry's expiry is queued when it
///   changes (once per window at most) in FIFO queues that are each in time order, so every
///   operation pops what has come due: amortised O(1), no scans.
/// - **A cap on keys** (`maxKeys`, `limits.max_limit_keys`). When the store holds that many
///   counters after evicting the expired ones, a *new* key is refused with `tooManyKeys` (fail
///   closed: the route treats it as exceeded); keys it already holds keep working. Shared buckets
///   (`keyValue == ""`: gateway limits, unkeyed route limits) are bounded by the configuration and
///   always admitted, so a flood of new keys cannot shut them out.
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

    public static let defaultMaxKeys = 100_000
    /// How long a counter restored without a recorded window (a row written by an older version)
    /// is kept if no request touches it; a request records its window.
    public static let unknownWindowGrace: Seconds = 86400

    struct RateEntry {
        var counter: WindowCounter
        /// The window the counter was last used with; nil when restored without one.
        var window: Seconds?
        /// When it is next checked for eviction (a `Due` with this time is queued).
        var expiresAt: Double
    }

    struct BudgetEntry {
        var state: BudgetState
        var window: Seconds?
        var expiresAt: Double
        /// Reservations of this window not reconciled yet.
        var pending: Int = 0
    }

    struct Due {
        var at: Double
        var key: LimitKey
        var isBudget: Bool
    }

    /// Expiry times of one kind, pushed in time order (while the clock does not go back) and
    /// popped from the front.
    struct DueQueue {
        enum Kind: Equatable {
            /// windowStart + span: the same span for every entry, so pushes come in time order.
            case span(Seconds)
            /// now + delay: a second look at an entry that was not idle when it came due.
            case recheck(Seconds)
            /// Restored entries, sorted once.
            case restored
        }
        let kind: Kind
        var items: [Due] = []
        var head = 0

        var front: Due? { head < items.count ? items[head] : nil }
        var isEmpty: Bool { head >= items.count }

        mutating func popFront() {
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024, head * 2 >= items.count {
                items.removeFirst(head)
                head = 0
            }
        }
    }

    struct State {
        var rates: [LimitKey: RateEntry] = [:]
        var budgets: [LimitKey: BudgetEntry] = [:]
        var queues: [DueQueue] = []
        /// No queued expiry is earlier (a lower bound while the clock does not go back).
        var nextDue = Double.infinity
        /// Keys changed since the last `drainSnapshot()`.
        var dirtyRates: Set<LimitKey> = []
        var dirtyBudgets: Set<LimitKey> = []
        /// Keys evicted since the last `drainSnapshot()` (rows to delete).
        var removedRates: Set<LimitKey> = []
        var removedBudgets: Set<LimitKey> = []
        var evicted = 0
        var refused = 0

        var count: Int { rates.count + budgets.count }
    }

    private let state = Mutex(State())
    private let trackChanges: Bool
    /// Most distinct counters held at once (shared buckets are admitted beyond it).
    public let maxKeys: Int

    /// - Parameters:
    ///   - trackChanges: record changed and evicted keys so a persister can drain them.
    ///   - maxKeys: most distinct counters (rate and budget keys together); new keys beyond it
    ///     are refused (`tooManyKeys`).
    public init(trackChanges: Bool = false, maxKeys: Int = InMemoryLimitStore.defaultMaxKeys) {
        self.trackChanges = trackChanges
        self.maxKeys = max(1, maxKeys)
    }

    // MARK: Gauges

    /// Counters held now (rate and budget).
    public var keyCount: Int { state.withLock { $0.count } }
    /// Counters evicted since start because they had expired.
    public var evictedCount: Int { state.withLock { $0.evicted } }
    /// New keys refused since start because the store held `maxKeys` counters.
    public var refusedNewKeys: Int { state.withLock { $0.refused } }

    /// Evicts whatever has expired by `now`. Every operation does this; it only matters to
    /// callers that want an idle store to shrink (and to tests).
    public func evictExpired(now: Double) {
        state.withLock { $0.evictDue(now: now, track: trackChanges) }
    }

    // MARK: LimitStore

    public func consume(_ key: LimitKey, cost: Double, limit: Double, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> RateDecision {
        state.withLock { s in
            s.evictDue(now: now, track: trackChanges)
            let index: Dictionary<LimitKey, RateEntry>.Index
            if let i = s.rates.index(forKey: key) {
                index = i
            } else {
                if s.isFull(admitting: key, maxKeys: maxKeys) {
                    s.refused += 1
                    return .tooManyKeys(retryAfter: s.retryAfterWhenFull(now: now, window: window))
                }
                s.rates[key] = RateEntry(counter: WindowCounter(), window: window, expiresAt: -.infinity)
                if trackChanges { s.removedRates.remove(key) }
                index = s.rates.index(forKey: key)!
            }
            let decision = s.rates.values[index].counter.consume(cost: cost, limit: limit, window: window, technique: technique, now: now)
            s.rates.values[index].window = window
            let expiry = LimitSnapshot.rateExpiry(windowStart: s.rates.values[index].counter.windowStart, window: window)
            if expiry != s.rates.values[index].expiresAt {
                s.rates.values[index].expiresAt = expiry
                s.schedule(Due(at: expiry, key: key, isBudget: false), .span(2 * window))
            }
            if trackChanges, decision.isAllowed { s.dirtyRates.insert(key) }
            return decision
        }
    }

    public func reserve(_ key: LimitKey, amount: Double, limit: Double, window: Seconds, now: Double) -> BudgetDecision {
        let start = WindowCounter.windowStart(for: now, window: window)
        return state.withLock { s in
            s.evictDue(now: now, track: trackChanges)
            let index: Dictionary<LimitKey, BudgetEntry>.Index
            if let i = s.budgets.index(forKey: key) {
                index = i
            } else {
                if s.isFull(admitting: key, maxKeys: maxKeys) {
                    s.refused += 1
                    return .tooManyKeys(retryAfter: s.retryAfterWhenFull(now: now, window: window))
                }
                s.budgets[key] = BudgetEntry(state: BudgetState(windowStart: start, spent: 0, reserved: 0), window: window, expiresAt: -.infinity)
                if trackChanges { s.removedBudgets.remove(key) }
                index = s.budgets.index(forKey: key)!
            }
            var entry = s.budgets.values[index]
            if entry.state.windowStart != start {
                // Reservations made in the previous window still reconcile against it; the new
                // window starts empty.
                entry.state = BudgetState(windowStart: start, spent: 0, reserved: 0)
                entry.pending = 0
            }
            entry.window = window
            let expiry = LimitSnapshot.budgetExpiry(windowStart: start, window: window)
            if expiry != entry.expiresAt {
                entry.expiresAt = expiry
                s.schedule(Due(at: expiry, key: key, isBudget: true), .span(window))
            }
            let b = entry.state
            if b.spent + b.reserved + amount > limit + 1e-12 || b.spent >= limit {
                s.budgets.values[index] = entry
                return .exceeded(retryAfter: max(start + window - now, 0.001))
            }
            entry.state.reserved += amount
            entry.pending += 1
            s.budgets.values[index] = entry
            if trackChanges { s.dirtyBudgets.insert(key) }
            return .reserved(BudgetReservation(key: key, windowStart: start, amount: amount))
        }
    }

    public func reconcile(_ reservation: BudgetReservation, actualCost: Double) {
        state.withLock { s in
            // Gone: evicted, which needs no reservation outstanding, so this one belonged to a
            // window that has passed; its cost counts nowhere.
            guard let i = s.budgets.index(forKey: reservation.key) else { return }
            if s.budgets.values[i].state.windowStart == reservation.windowStart {
                var entry = s.budgets.values[i]
                entry.pending = max(0, entry.pending - 1)
                // With nothing outstanding the sum is 0 exactly (no floating-point residue).
                entry.state.reserved = entry.pending == 0 ? 0 : max(0, entry.state.reserved - reservation.amount)
                entry.state.spent += actualCost
                s.budgets.values[i] = entry
            } else {
                // The window rolled over while the request ran: the cost counts in the new window.
                s.budgets.values[i].state.spent += actualCost
            }
            if trackChanges { s.dirtyBudgets.insert(reservation.key) }
        }
    }

    public func rateCount(_ key: LimitKey, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> Double? {
        state.withLock { s in s.rates[key]?.counter.effectiveCount(now: now, window: window, technique: technique) ?? 0 }
    }

    public func budgetUsage(_ key: LimitKey, window: Seconds, now: Double) -> (spent: Double, reserved: Double) {
        let start = WindowCounter.windowStart(for: now, window: window)
        return state.withLock { s in
            guard let b = s.budgets[key]?.state, b.windowStart == start else { return (0, 0) }
            return (b.spent, b.reserved)
        }
    }

    /// Every counter held now, for the admin API's limits view (`GET /admin/limits`): rate
    /// counters with the window they were last used with, and budgets.
    public func entries() -> (rates: [LimitKey: (counter: WindowCounter, window: Seconds?)], budgets: [LimitKey: BudgetState]) {
        state.withLock { s in
            (s.rates.mapValues { ($0.counter, $0.window) }, s.budgets.mapValues(\.state))
        }
    }

    // MARK: Persistence hooks

    /// Counters changed and keys evicted since the last call (only with `trackChanges`).
    /// Reserved amounts are not persisted: after a crash, in-flight reservations are simply gone.
    public func drainSnapshot() -> LimitSnapshot {
        state.withLock { s in
            var snapshot = LimitSnapshot()
            for k in s.dirtyRates {
                guard let e = s.rates[k] else { continue }
                snapshot.rates[k] = e.counter
                if let w = e.window { snapshot.windows[k] = w }
            }
            for k in s.dirtyBudgets {
                guard let e = s.budgets[k] else { continue }
                snapshot.budgets[k] = e.state
                if let w = e.window { snapshot.windows[k] = w }
            }
            // A key evicted and back since is written, not deleted.
            snapshot.removedRates = s.removedRates.filter { s.rates[$0] == nil }
            snapshot.removedBudgets = s.removedBudgets.filter { s.budgets[$0] == nil }
            s.dirtyRates.removeAll(keepingCapacity: true)
            s.dirtyBudgets.removeAll(keepingCapacity: true)
            s.removedRates.removeAll()
            s.removedBudgets.removeAll()
            return snapshot
        }
    }

    /// Loads persisted state at startup. Skips counters that have expired by `now`, keys longer
    /// than a request can produce any more (`LimitKeyText.maxBytes`), and, beyond `maxKeys`, the
    /// counters that expire first; with `trackChanges` the skipped ones are drained as removed,
    /// so their rows go too.
    public func restore(_ snapshot: LimitSnapshot, now: Double) {
        struct Candidate {
            var key: LimitKey
            var expiresAt: Double
            var rate: RateEntry?
            var budget: BudgetEntry?
        }
        var candidates: [Candidate] = []
        var dropped: [(LimitKey, isBudget: Bool)] = []
        candidates.reserveCapacity(snapshot.rates.count + snapshot.budgets.count)
        for (k, c) in snapshot.rates {
            let window = snapshot.windows[k]
            let expired = window.map { c.isIdle(now: now, window: $0) } ?? false
            if expired || k.keyValue.utf8.count > LimitKeyText.maxBytes {
                dropped.append((k, false))
                continue
            }
            let expiresAt = window.map { LimitSnapshot.rateExpiry(windowStart: c.windowStart, window: $0) } ?? now + Self.unknownWindowGrace
            candidates.append(Candidate(key: k, expiresAt: expiresAt, rate: RateEntry(counter: c, window: window, expiresAt: expiresAt)))
        }
        for (k, b) in snapshot.budgets {
            let window = snapshot.windows[k]
            let expired = window.map { WindowCounter.windowStart(for: now, window: $0) != b.windowStart } ?? false
            if expired || k.keyValue.utf8.count > LimitKeyText.maxBytes {
                dropped.append((k, true))
                continue
            }
            let expiresAt = window.map { LimitSnapshot.budgetExpiry(windowStart: b.windowStart, window: $0) } ?? now + Self.unknownWindowGrace
            let state = BudgetState(windowStart: b.windowStart, spent: b.spent, reserved: 0)
            candidates.append(Candidate(key: k, expiresAt: expiresAt, budget: BudgetEntry(state: state, window: window, expiresAt: expiresAt)))
        }
        // Latest expiry first, so the cap keeps the counters that matter longest.
        candidates.sort { $0.expiresAt > $1.expiresAt }

        state.withLock { s in
            var dues: [Due] = []
            for c in candidates {
                let present = c.rate != nil ? s.rates[c.key] != nil : s.budgets[c.key] != nil
                if !present, s.isFull(admitting: c.key, maxKeys: maxKeys) {
                    dropped.append((c.key, c.budget != nil))
                    continue
                }
                if let r = c.rate { s.rates[c.key] = r }
                if let b = c.budget { s.budgets[c.key] = b }
                dues.append(Due(at: c.expiresAt, key: c.key, isBudget: c.budget != nil))
            }
            if trackChanges {
                for (k, isBudget) in dropped {
                    if isBudget { s.removedBudgets.insert(k) } else { s.removedRates.insert(k) }
                }
            }
            // One sorted queue for everything restored (merged with an earlier restore, if any).
            if let i = s.queues.firstIndex(where: { $0.kind == .restored }) {
                dues.append(contentsOf: s.queues[i].items[s.queues[i].head...])
                s.queues.remove(at: i)
            }
            dues.sort { $0.at < $1.at }
            if let first = dues.first {
                s.queues.append(DueQueue(kind: .restored, items: dues))
                s.nextDue = min(s.nextDue, first.at)
            }
        }
    }
}

extension InMemoryLimitStore.State {
    typealias Due = InMemoryLimitStore.Due

    func isFull(admitting key: LimitKey, maxKeys: Int) -> Bool {
        !key.keyValue.isEmpty && count >= maxKeys
    }

    /// When a refused key may try again: when the first counter can expire, at most a window.
    func retryAfterWhenFull(now: Double, window: Seconds) -> Seconds {
        max(min(nextDue, now + window) - now, 0.001)
    }

    mutating func schedule(_ due: Due, _ kind: InMemoryLimitStore.DueQueue.Kind) {
        if let i = queues.firstIndex(where: { $0.kind == kind }) {
            queues[i].items.append(due)
        } else {
            queues.append(InMemoryLimitStore.DueQueue(kind: kind, items: [due]))
        }
        nextDue = min(nextDue, due.at)
    }

    /// Pops every queued expiry that has come due and evicts the entries that are idle.
    mutating func evictDue(now: Double, track: Bool) {
        guard now >= nextDue else { return }
        nextDue = .infinity
        var i = 0
        while i < queues.count {
            while let due = queues[i].front, due.at <= now {
                queues[i].popFront()
                expire(due, now: now, track: track)
            }
            if let front = queues[i].front { nextDue = min(nextDue, front.at) }
            i += 1
        }
        queues.removeAll { $0.isEmpty }
    }

    /// Evicts the entry `due` names if it is idle; looks again later if not. A due whose time no
    /// longer matches the entry's was superseded by a later one.
    private mutating func expire(_ due: Due, now: Double, track: Bool) {
        if due.isBudget {
            guard let i = budgets.index(forKey: due.key), budgets.values[i].expiresAt == due.at else { return }
            let e = budgets.values[i]
            let idle = e.pending == 0 && (e.window.map { WindowCounter.windowStart(for: now, window: $0) != e.state.windowStart } ?? true)
            if idle {
                budgets.remove(at: i)
                evicted += 1
                if track {
                    dirtyBudgets.remove(due.key)
                    removedBudgets.insert(due.key)
                }
            } else {
                let delay = max(e.window ?? InMemoryLimitStore.unknownWindowGrace, 1)
                budgets.values[i].expiresAt = now + delay
                schedule(Due(at: now + delay, key: due.key, isBudget: true), .recheck(delay))
            }
        } else {
            guard let i = rates.index(forKey: due.key), rates.values[i].expiresAt == due.at else { return }
            let e = rates.values[i]
            if e.window.map({ e.counter.isIdle(now: now, window: $0) }) ?? true {
                rates.remove(at: i)
                evicted += 1
                if track {
                    dirtyRates.remove(due.key)
                    removedRates.insert(due.key)
                }
            } else {
                let delay = max(e.window ?? InMemoryLimitStore.unknownWindowGrace, 1)
                rates.values[i].expiresAt = now + delay
                schedule(Due(at: now + delay, key: due.key, isBudget: false), .recheck(delay))
            }
        }
    }
}
