import Foundation
import Logging
import SwitchyardCore
import SwitchyardStorage
import SwitchyardTestSupport
import Testing

/// The lease SQL of `PostgresLeaseBackend` against a real PostgreSQL (the same scenarios as
/// `LeasedLimitStoreTests` run against the in-memory model of it).
@Suite(.enabled(if: testPostgresURL != nil, "SWITCHYARD_TEST_POSTGRES_URL is unset: PostgreSQL lease tests skipped"))
struct PostgresLeaseTests {
    let key = LimitKey(route: "gateway", node: "default", keyValue: "")

    func instances(_ n: Int, _ db: PostgresDatabase, clock: ManualClock, settings: LeasedLimitStore.Settings) -> [(LeasedLimitStore, LeaseSync)] {
        (0..<n).map { i in
            let store = LeasedLimitStore(settings: settings, instance: "i\(i)", now: clock.now)
            return (store, LeaseSync(store: store, backend: db, reportInterval: .seconds(1), now: { clock.now }))
        }
    }

    func granted(_ db: PostgresDatabase) async throws -> Double {
        var total = 0.0
        let snapshot = try await db.poolGranted(key)
        total += snapshot
        return total
    }

    @Test func threeInstancesShareOneLimit() async throws {
        try await StorageFixture.with(.postgres) { _, store in
            let db = store as! PostgresDatabase
            let clock = ManualClock(1_800_000_000)
            let nodes = instances(3, db, clock: clock, settings: .init(leaseFraction: 0.05))
            let before = db.roundTrips.count
            var admitted = 0
            for i in 0..<600 {
                let (s, sync) = nodes[i % 3]
                if s.consume(key, cost: 1, limit: 100, window: 60, technique: .fixed, now: clock.now).isAllowed { admitted += 1 }
                await sync.refill()
                if i % 50 == 0 { await sync.report() }
                clock.advance(0.01)
            }
            #expect(admitted >= 100 && admitted <= 115, "admitted \(admitted)")
            let g1 = try await granted(db)
            #expect(g1 <= 100)
            #expect(db.roundTrips.count - before < 150, "\(db.roundTrips.count - before) round trips for 600 requests")
            for (_, sync) in nodes { await sync.release() }
            let g2 = try await granted(db)
            #expect(g2 == Double(admitted) || admitted > 100)
        }
    }

    @Test func aKilledInstancesLeaseIsReclaimedAfterTheTTL() async throws {
        try await StorageFixture.with(.postgres) { _, store in
            let db = store as! PostgresDatabase
            let clock = ManualClock(1_800_000_000)
            let nodes = instances(2, db, clock: clock, settings: .init(leaseFraction: 0.5, leaseTTL: 10))
            let (a, syncA) = nodes[0], (b, syncB) = nodes[1]
            #expect(a.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed)
            await syncA.refill()
            #expect(a.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed)
            await syncA.report()
            let g3 = try await granted(db)
            #expect(g3 == 6)
            var admittedB = 0
            for _ in 0..<20 {
                if b.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed { admittedB += 1 }
                await syncB.refill()
            }
            #expect(admittedB == 4)
            clock.advance(11)
            await syncB.report()
            let g4 = try await granted(db)
            #expect(g4 == 6, "A's unused 4 went back")
            for _ in 0..<20 {
                if b.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed { admittedB += 1 }
                await syncB.refill()
                clock.advance(1.1)
                await syncB.report()
            }
            #expect(admittedB == 8)
            await syncB.release()
            let g5 = try await granted(db)
            #expect(g5 == 10)
        }
    }

    @Test func budgetsAcrossInstancesStayWithinTheBound() async throws {
        try await StorageFixture.with(.postgres) { _, store in
            let db = store as! PostgresDatabase
            let clock = ManualClock(1_800_000_000)
            let budget = LimitKey(route: "support", node: "paid-budget", keyValue: "org-1")
            let nodes = instances(3, db, clock: clock, settings: .init(leaseFraction: 0.1))
            var spent = 0.0
            for i in 0..<300 {
                let (s, sync) = nodes[i % 3]
                if case .reserved(let r) = s.reserve(budget, amount: 0.02, limit: 1, window: 86400, now: clock.now) {
                    s.reconcile(r, actualCost: 0.01)
                    spent += 0.01
                }
                await sync.refill()
                if i % 10 == 0 { await sync.report() }
                clock.advance(0.5)
            }
            #expect(spent > 0.95 && spent <= 1.3 + 1e-9, "spent \(spent)")
            for (_, sync) in nodes { await sync.release() }
            let pool = try await db.poolGranted(budget)
            #expect(abs(pool - spent) < 1e-6, "after release the pool holds what was spent: \(pool) vs \(spent)")
        }
    }

    /// Pools and leases of ended windows are deleted; the current window's stay.
    @Test func poolsOfEndedWindowsExpire() async throws {
        try await StorageFixture.with(.postgres) { _, store in
            let db = store as! PostgresDatabase
            let clock = ManualClock(1_800_000_000)
            let (s, sync) = instances(1, db, clock: clock, settings: .init(leaseFraction: 0.5))[0]
            let minute = LimitKey(route: "r", node: "per-minute", keyValue: "u1")
            let day = LimitKey(route: "r", node: "per-day", keyValue: "u1")
            #expect(s.consume(minute, cost: 1, limit: 10, window: 60, technique: .fixed, now: clock.now).isAllowed)
            #expect(s.consume(day, cost: 1, limit: 10, window: 86400, technique: .fixed, now: clock.now).isAllowed)
            await sync.refill()
            await sync.report()
            #expect(try await db.poolGranted(minute) > 0)
            #expect(try await db.poolGranted(day) > 0)
            func rows(_ table: String) async throws -> Int {
                try await db.count(table: table)
            }
            #expect(try await rows("limit_pool") == 2)
            #expect(try await rows("limit_lease") == 2)
            try await db.expireWindows(before: clock.now + 61)
            #expect(try await db.poolGranted(minute) == 0)
            #expect(try await db.poolGranted(day) > 0)
            #expect(try await rows("limit_pool") == 1)
            #expect(try await rows("limit_lease") == 1)
        }
    }
}
