/// What a durable store keeps of limit state: window counters and spent budgets.
/// In-flight reservations are deliberately not part of it (see `InMemoryLimitStore.drainChanges`).
public struct LimitSnapshot: Sendable, Equatable {
    public var rates: [LimitKey: WindowCounter]
    public var budgets: [LimitKey: InMemoryLimitStore.BudgetState]

    public init(rates: [LimitKey: WindowCounter] = [:], budgets: [LimitKey: InMemoryLimitStore.BudgetState] = [:]) {
        self.rates = rates
        self.budgets = budgets
    }

    public var isEmpty: Bool { rates.isEmpty && budgets.isEmpty }
}

/// Durable storage of limit state, implemented by the storage layer (SQLite, PostgreSQL).
/// Called off the request path: at startup to restore, and by a background flusher.
public protocol LimitSnapshotStore: Sendable {
    func loadLimitSnapshot() async throws -> LimitSnapshot
    /// Upserts the given counters (rows not mentioned are left as they are).
    func saveLimitSnapshot(_ snapshot: LimitSnapshot) async throws
}

extension InMemoryLimitStore {
    /// Drains the changed counters into a snapshot for the persister.
    public func drainSnapshot() -> LimitSnapshot {
        let (rates, budgets) = drainChanges()
        return LimitSnapshot(rates: rates, budgets: budgets)
    }

    public func restore(_ snapshot: LimitSnapshot) {
        restore(rates: snapshot.rates, budgets: snapshot.budgets)
    }
}
