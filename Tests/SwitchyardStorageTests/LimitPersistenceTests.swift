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

    @Test func flushWritesOnlyChangedCounters() async throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let store = InMemoryLimitStore(trackChanges: true)
        let persister = LimitPersister(store: store, backend: db, logger: Logger(label: "test"))
        let a = LimitKey(route: "r", node: "n", keyValue: "a")
        _ = store.consume(a, cost: 1, limit: 10, window: 60, technique: .sliding, now: 120)
        #expect(store.drainSnapshot().rates.count == 1)
        #expect(store.drainSnapshot().isEmpty)
        _ = store.consume(a, cost: 1, limit: 10, window: 60, technique: .sliding, now: 121)
        await persister.flush()
        let loaded = try await db.loadLimitSnapshot()
        #expect(loaded.rates[a] == WindowCounter(windowStart: 120, current: 2, previous: 0))
    }

    @Test func evictedCountersAreDeletedFromTheTable() async throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let store = InMemoryLimitStore(trackChanges: true)
        let persister = LimitPersister(store: store, backend: db, logger: Logger(label: "test"))
        let t0 = 1_800_000_000.0
        for i in 0..<100 {
            _ = store.consume(LimitKey(route: "r", node: "rate", keyValue: "u\(i)"), cost: 1, limit: 5, window: 60, technique: .sliding, now: t0)
            if case .reserved(let r) = store.reserve(LimitKey(route: "r", node: "budget", keyValue: "o\(i)"), amount: 0.5, limit: 1, window: 60, now: t0) {
                store.reconcile(r, actualCost: 0.25)
            }
        }
        await persister.flush()
        var rows = try await db.loadLimitSnapshot()
        #expect(rows.rates.count == 100 && rows.budgets.count == 100)
        #expect(rows.windows.count == 200)

        // A minute later the budgets have expired; the rate counters still weigh in (sliding).
        let survivor = LimitKey(route: "r", node: "rate", keyValue: "u0")
        _ = store.consume(survivor, cost: 1, limit: 5, window: 60, technique: .sliding, now: t0 + 60)
        await persister.flush()
        rows = try await db.loadLimitSnapshot()
        #expect(rows.rates.count == 100 && rows.budgets.isEmpty)

        // Two minutes later only the counter used in the second minute is left, in memory and on disk.
        store.evictExpired(now: t0 + 120)
        await persister.flush()
        rows = try await db.loadLimitSnapshot()
        #expect(Array(rows.rates.keys) == [survivor])
        #expect(store.keyCount == 1)
        #expect(store.evictedCount == 199)
    }

    @Test func restoreSkipsAndDeletesExpiredRows() async throws {
        let path = temporaryDatabasePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let t0 = 1_800_000_000.0
        let day = (t0 / 86400).rounded(.down) * 86400
        let live = LimitKey(route: "r", node: "rate", keyValue: "live")
        let stale = LimitKey(route: "r", node: "rate", keyValue: "stale")
        let spentToday = LimitKey(route: "r", node: "budget", keyValue: "today")
        let spentYesterday = LimitKey(route: "r", node: "budget", keyValue: "yesterday")
        let legacy = LimitKey(route: "r", node: "rate", keyValue: "legacy")
        let oversized = LimitKey(route: "r", node: "rate", keyValue: String(repeating: "x", count: 100_000))
        do {
            let db = try SQLiteDatabase(path: path)
            try await db.saveLimitSnapshot(LimitSnapshot(
                rates: [
                    live: WindowCounter(windowStart: t0, current: 3, previous: 0),
                    stale: WindowCounter(windowStart: t0 - 7200, current: 3, previous: 0),
                    // Written before windows were recorded.
                    legacy: WindowCounter(windowStart: t0, current: 2, previous: 0),
                    oversized: WindowCounter(windowStart: t0, current: 1, previous: 0),
                ],
                budgets: [
                    spentToday: .init(windowStart: day, spent: 0.5, reserved: 0),
                    spentYesterday: .init(windowStart: day - 86400, spent: 0.9, reserved: 0),
                ],
                windows: [live: 3600, stale: 3600, oversized: 3600, spentToday: 86400, spentYesterday: 86400]
            ))
        }

        let db = try SQLiteDatabase(path: path)
        let store = InMemoryLimitStore(trackChanges: true)
        let persister = LimitPersister(store: store, backend: db, logger: Logger(label: "test"), now: { t0 + 60 })
        try await persister.restore()
        #expect(store.keyCount == 3, "live, legacy and today's budget")
        #expect(store.budgetUsage(spentToday, window: 86400, now: t0 + 60) == (spent: 0.5, reserved: 0))
        #expect(!store.consume(live, cost: 3, limit: 5, window: 3600, technique: .fixed, now: t0 + 60).isAllowed)
        // Expired rows went at restore; the oversized key (no request can name it any more) goes at the first flush.
        var rows = try await db.loadLimitSnapshot()
        #expect(rows.rates[stale] == nil && rows.budgets[spentYesterday] == nil)
        await persister.flush()
        rows = try await db.loadLimitSnapshot()
        #expect(Set(rows.rates.keys) == [live, legacy])
        #expect(Set(rows.budgets.keys) == [spentToday])

        // A counter restored without its window is dropped a day after restore unless a request touches it.
        store.evictExpired(now: t0 + 60 + InMemoryLimitStore.unknownWindowGrace)
        #expect(store.keyCount == 0)
        await persister.flush()
        rows = try await db.loadLimitSnapshot()
        #expect(rows.isEmpty && rows.windows.isEmpty)
    }

    @Test func restoreKeepsAtMostMaxKeys() async throws {
        let db = try SQLiteDatabase(path: ":memory:")
        let t0 = 1_800_000_000.0
        var rates: [LimitKey: WindowCounter] = [:]
        var windows: [LimitKey: Seconds] = [:]
        // Later keys have longer windows, so expire later (t0 is a multiple of each).
        for (i, window) in [60, 120, 180, 240, 300, 360, 600, 900, 1200, 1800].enumerated() {
            let k = LimitKey(route: "r", node: "n", keyValue: "u\(i)")
            rates[k] = WindowCounter(windowStart: t0, current: 1, previous: 0)
            windows[k] = Double(window)
        }
        try await db.saveLimitSnapshot(LimitSnapshot(rates: rates, windows: windows))
        let store = InMemoryLimitStore(trackChanges: true, maxKeys: 4)
        let persister = LimitPersister(store: store, backend: db, logger: Logger(label: "test"), now: { t0 + 30 })
        try await persister.restore()
        #expect(store.keyCount == 4)
        await persister.flush()
        let rows = try await db.loadLimitSnapshot()
        #expect(Set(rows.rates.keys.map(\.keyValue)) == ["u6", "u7", "u8", "u9"])
    }

    @Test func storageURLs() {
        #expect(SQLiteDatabase.path(fromStorageURL: "sqlite:switchyard.sqlite") == "switchyard.sqlite")
        #expect(SQLiteDatabase.path(fromStorageURL: "sqlite:///var/lib/s.sqlite") == "/var/lib/s.sqlite")
        #expect(SQLiteDatabase.path(fromStorageURL: "postgres://h/db") == nil)
    }
}
