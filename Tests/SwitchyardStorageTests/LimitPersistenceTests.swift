import Foundation
import Logging
import SwitchyardCore
import SwitchyardStorage
import Testing

@Suite struct LimitPersistenceTests {
    func temporaryDatabasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-test-\(UUID().uuidString).sqlite").path
    }

    @Test func budgetSpendAndRateWindowsSurviveARestart() async throws {
        let path = temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let now = 1_800_000_000.0
        let budgetKey = LimitKey(route: "support", node: "paid-budget", keyValue: "org-1")
        let rateKey = LimitKey(route: "support", node: "free-limit", keyValue: "u1")

        do {
            let db = try SQLiteDatabase(path: path)
            let store = InMemoryLimitStore(trackChanges: true)
            let persister = LimitPersister(store: store, backend: db, logger: Logger(label: "test"), now: { now })
            guard case .reserved(let r) = store.reserve(budgetKey, amount: 0.5, limit: 1, window: 86400, now: now) else {
                Issue.record("reservation refused"); return
            }
            store.reconcile(r, actualCost: 0.75)
            for _ in 0..<3 { _ = store.consume(rateKey, cost: 1, limit: 3, window: 3600, technique: .fixed, now: now) }
            await persister.flush()
        }

        let db = try SQLiteDatabase(path: path)
        let store = InMemoryLimitStore(trackChanges: true)
        try await LimitPersister(store: store, backend: db, logger: Logger(label: "test"), now: { now + 10 }).restore()
        #expect(store.budgetUsage(budgetKey, window: 86400, now: now + 10) == (spent: 0.75, reserved: 0))
        // 0.75 spent of 1: a reservation of 0.5 no longer fits, one of 0.2 does.
        if case .reserved = store.reserve(budgetKey, amount: 0.5, limit: 1, window: 86400, now: now + 10) { Issue.record("overspent after restart") }
        if case .exceeded = store.reserve(budgetKey, amount: 0.2, limit: 1, window: 86400, now: now + 10) { Issue.record("budget lost its headroom") }
        // The hour window already holds 3 of 3.
        #expect(!store.consume(rateKey, cost: 1, limit: 3, window: 3600, technique: .fixed, now: now + 10).isAllowed)
        // The next window starts empty.
        #expect(store.consume(rateKey, cost: 1, limit: 3, window: 3600, technique: .fixed, now: now + 3600).isAllowed)
    }

    @Test func storageURLs() {
        #expect(SQLiteDatabase.path(fromStorageURL: "sqlite:switchyard.sqlite") == "switchyard.sqlite")
        #expect(SQLiteDatabase.path(fromStorageURL: "sqlite:///var/lib/s.sqlite") == "/var/lib/s.sqlite")
        #expect(SQLiteDatabase.path(fromStorageURL: "postgres://h/db") == nil)
    }
}
