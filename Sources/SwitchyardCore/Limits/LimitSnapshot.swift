/// What a durable store keeps of limit state: window counters and spent budgets.
/// In-flight reservations are deliberately not part of it (see `InMemoryLimitStore.drainSnapshot`).
public struct LimitSnapshot: Sendable, Equatable {
    public var rates: [LimitKey: WindowCounter]
    public var budgets: [LimitKey: InMemoryLimitStore.BudgetState]
    /// The window each counter was last used with, which tells when it expires (absent for rows
    /// written before windows were recorded).
    public var windows: [LimitKey: Seconds]
    /// Counters evicted from memory since the last snapshot: their rows are deleted.
    public var removedRates: Set<LimitKey>
    public var removedBudgets: Set<LimitKey>

    public init(
        rates: [LimitKey: WindowCounter] = [:], budgets: [LimitKey: InMemoryLimitStore.BudgetState] = [:], windows: [LimitKey: Seconds] = [:],
        removedRates: Set<LimitKey> = [], removedBudgets: Set<LimitKey> = []
    ) {
        self.rates = rates
        self.budgets = budgets
        self.windows = windows
        self.removedRates = removedRates
        self.removedBudgets = removedBudgets
    }

    public var isEmpty: Bool { rates.isEmpty && budgets.isEmpty && removedRates.isEmpty && removedBudgets.isEmpty }

    /// When a counter reads zero for good: the end of the window after a rate counter's window
    /// (sliding windows still weigh the previous one), the end of a budget's window.
    public static func rateExpiry(windowStart: Double, window: Seconds) -> Double { windowStart + 2 * window }
    public static func budgetExpiry(windowStart: Double, window: Seconds) -> Double { windowStart + window }
}

/// Durable storage of limit state, implemented by the storage layer (SQLite, PostgreSQL).
/// Called off the request path: at startup to restore, and by a background flusher.
public protocol LimitSnapshotStore: Sendable {
    func loadLimitSnapshot() async throws -> LimitSnapshot
    /// Upserts the given counters and deletes the removed ones (rows not mentioned are left as
    /// they are).
    func saveLimitSnapshot(_ snapshot: LimitSnapshot) async throws
    /// Deletes the counters that have expired by `now` (they read as zero); called before loading.
    func deleteExpiredLimitState(now: Double) async throws
}

extension LimitSnapshotStore {
    public func deleteExpiredLimitState(now: Double) async throws {}
}
