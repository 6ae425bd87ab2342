import Synchronization
import SwitchyardCore
import SwitchyardTestSupport
import Testing

/// The lease protocol of `PostgresLeaseBackend`, in memory: a pool per key and window, a lease
/// per instance and key. `down` makes every call fail (the database is unreachable).
final class FakeLeaseBackend: LeaseBackend {
    struct Pool { var windowStart: Double; var granted: Double }
    struct Lease { var windowStart: Double; var granted: Double; var used: Double; var expiresAt: Double }
    struct Unreachable: Error {}
    struct State {
        var pools: [LimitKey: Pool] = [:]
        var leases: [String: [LimitKey: Lease]] = [:]
        var down = false
        var calls = 0
    }
    let state = Mutex(State())

    var down: Bool {
        get { state.withLock { $0.down } }
        set { state.withLock { $0.down = newValue } }
    }
    var calls: Int { state.withLock { $0.calls } }
    func granted(_ key: LimitKey) -> Double { state.withLock { $0.pools[key]?.granted ?? 0 } }

    func acquire(_ r: LeaseRequest, instance: String, expiresAt: Double) async throws -> Double {
        try state.withLock { s in
            s.calls += 1
            if s.down { throw Unreachable() }
            var pool = s.pools[r.key] ?? Pool(windowStart: r.windowStart, granted: 0)
            if pool.windowStart < r.windowStart { pool = Pool(windowStart: r.windowStart, granted: 0) }
            guard pool.windowStart == r.windowStart else { return 0 }
            let grant = max(0, min(r.amount, r.capacity - pool.granted))
            pool.granted += grant
            s.pools[r.key] = pool
            var lease = s.leases[instance]?[r.key] ?? Lease(windowStart: r.windowStart, granted: 0, used: 0, expiresAt: expiresAt)
            if lease.windowStart != r.windowStart { lease = Lease(windowStart: r.windowStart, granted: 0, used: 0, expiresAt: expiresAt) }
            lease.granted += grant
            lease.expiresAt = expiresAt
            s.leases[instance, default: [:]][r.key] = lease
            return grant
        }
    }

    func report(_ usage: [LeaseUsage], instance: String, expiresAt: Double, now: Double) async throws {
        try state.withLock { s in
            s.calls += 1
            if s.down { throw Unreachable() }
            for u in usage where s.leases[instance]?[u.key]?.windowStart == u.windowStart { s.leases[instance]![u.key]!.used = u.used }
            for k in s.leases[instance]?.keys.map({ $0 }) ?? [] { s.leases[instance]![k]!.expiresAt = expiresAt }
            for (other, leases) in s.leases where other != instance {
                for (k, l) in leases where l.expiresAt < now {
                    if s.pools[k]?.windowStart == l.windowStart { s.pools[k]!.granted -= max(0, l.granted - l.used) }
                    s.leases[other]![k] = nil
                }
            }
        }
    }

    func release(_ usage: [LeaseUsage], instance: String) async throws {
        try state.withLock { s in
            s.calls += 1
            if s.down { throw Unreachable() }
            for (k, l) in s.leases[instance] ?? [:] {
                let used = usage.first { $0.key == k && $0.windowStart == l.windowStart }?.used ?? l.used
                if s.pools[k]?.windowStart == l.windowStart { s.pools[k]!.granted -= max(0, l.granted - used) }
            }
            s.leases[instance] = nil
        }
    }
}

@Suite struct LeasedLimitStoreTests {
    let key = LimitKey(route: "gateway", node: "default", keyValue: "")

    func instances(_ n: Int, backend: FakeLeaseBackend, clock: ManualClock, settings: LeasedLimitStore.Settings = .init(leaseFraction: 0.05))
        -> [(LeasedLimitStore, LeaseSync)]
    {
        (0..<n).map { i in
            let store = LeasedLimitStore(settings: settings, instance: "i\(i)", now: clock.now)
            return (store, LeaseSync(store: store, backend: backend, reportInterval: .seconds(1), now: { clock.now }))
        }
    }

    @Test func threeInstancesAdmitTheLimitWithinTheDocumentedOvershoot() async throws {
        let clock = ManualClock(1_800_000_000)
        let backend = FakeLeaseBackend()
        let nodes = instances(3, backend: backend, clock: clock)
        var admitted = 0
        // 600 requests round-robin, refills answered between requests; 100 per minute, leases of 5.
        for i in 0..<600 {
            let (store, sync) = nodes[i % 3]
            if store.consume(key, cost: 1, limit: 100, window: 60, technique: .fixed, now: clock.now).isAllowed { admitted += 1 }
            await sync.refill()
            clock.advance(0.01)
        }
        // admitted ≤ limit + N × L, and no capacity is stranded in leases.
        #expect(admitted >= 100 && admitted <= 100 + 3 * 5, "admitted \(admitted)")
        #expect(backend.granted(key) <= 100)
        // Round trips: one acquire per lease, far fewer than requests.
        #expect(backend.calls < 600 / 4, "\(backend.calls) calls")
    }

    @Test func anInstanceThatCannotReachThePoolAdmitsAtMostOneLeaseAhead() async throws {
        let clock = ManualClock()
        let backend = FakeLeaseBackend()
        let (store, _) = instances(1, backend: backend, clock: clock)[0]
        var admitted = 0
        for _ in 0..<50 where store.consume(key, cost: 1, limit: 100, window: 60, technique: .fixed, now: clock.now).isAllowed { admitted += 1 }
        #expect(admitted == 5, "one lease of 5 (5 % of 100) without a grant")
    }

    @Test func leasesOfAKilledInstanceReturnToThePoolAfterTheTTL() async throws {
        let clock = ManualClock(1_800_000_000)
        let backend = FakeLeaseBackend()
        let settings = LeasedLimitStore.Settings(leaseFraction: 0.5, leaseTTL: 10)
        let nodes = instances(2, backend: backend, clock: clock, settings: settings)
        let (a, syncA) = nodes[0], (b, syncB) = nodes[1]
        // A takes a lease (5, plus the request it admitted ahead of it) and uses two, then dies
        // without a word.
        #expect(a.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed)
        await syncA.refill()
        #expect(a.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed)
        await syncA.report()
        #expect(backend.granted(key) == 6)
        // B gets what is left (4), then finds the pool dry.
        var admittedB = 0
        for _ in 0..<20 {
            if b.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed { admittedB += 1 }
            await syncB.refill()
        }
        #expect(admittedB == 4)
        // After the TTL, B's report reclaims A's unused 4; B's next re-asks get them.
        clock.advance(11)
        await syncB.report()
        #expect(backend.granted(key) == 6)
        for _ in 0..<20 {
            if b.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed { admittedB += 1 }
            await syncB.refill()
            clock.advance(1.1)
            await syncB.report()
        }
        #expect(admittedB == 8, "B took over A's unused capacity: \(admittedB)")
    }

    @Test func shutdownGivesUnusedCapacityBack() async throws {
        let clock = ManualClock(1_800_000_000)
        let backend = FakeLeaseBackend()
        let settings = LeasedLimitStore.Settings(leaseFraction: 0.5)
        let nodes = instances(2, backend: backend, clock: clock, settings: settings)
        #expect(nodes[0].0.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed)
        await nodes[0].1.refill()
        #expect(backend.granted(key) == 6, "a lease of 5 plus the request admitted ahead of it")
        await nodes[0].1.release()
        #expect(backend.granted(key) == 1, "only the request admitted stays counted")
        var admitted = 0
        for _ in 0..<30 {
            if nodes[1].0.consume(key, cost: 1, limit: 10, window: 3600, technique: .fixed, now: clock.now).isAllowed { admitted += 1 }
            await nodes[1].1.refill()
            clock.advance(1.1)
            await nodes[1].1.report()
        }
        #expect(admitted == 9)
    }

    @Test func budgetsReserveAndReconcileAcrossInstances() async throws {
        let clock = ManualClock(1_800_000_000)
        let backend = FakeLeaseBackend()
        let budget = LimitKey(route: "support", node: "paid-budget", keyValue: "org-1")
        let nodes = instances(3, backend: backend, clock: clock, settings: .init(leaseFraction: 0.1))
        var spent = 0.0
        for i in 0..<300 {
            let (store, sync) = nodes[i % 3]
            if case .reserved(let r) = store.reserve(budget, amount: 0.02, limit: 1, window: 86400, now: clock.now) {
                // Requests cost half their estimate.
                store.reconcile(r, actualCost: 0.01)
                spent += 0.01
            }
            await sync.refill()
            if i % 10 == 0 { await sync.report() }
            clock.advance(0.5)
        }
        // $1: the instances spend all of it (cheaper than estimated) and at most N × L (3 × $0.10) beyond.
        #expect(spent > 0.95 && spent <= 1.0 + 3 * 0.1 + 1e-9, "spent \(spent)")
        let usage = nodes[0].0.budgetUsage(budget, window: 86400, now: clock.now)
        #expect(usage.reserved == 0 && usage.spent > 0)
    }

    /// `gateways.<id>.on_database_down` overrides the cluster's policy for that gateway's own
    /// rate limit only; route limits keep the cluster's.
    @Test func aGatewayMayFailOpenWhileTheClusterFailsClosed() async throws {
        let clock = ManualClock(1_800_000_000)
        let backend = FakeLeaseBackend()
        let settings = LeasedLimitStore.Settings(leaseFraction: 0.1, leaseTTL: 10, onDatabaseDown: .closed)
        let (store, sync) = instances(1, backend: backend, clock: clock, settings: settings)[0]
        store.gatewayPolicy.withLock { $0 = { $0 == "public" ? .open : nil } }
        let open = LimitKey(route: "gateway", node: "public", keyValue: "")
        let closed = LimitKey(route: "gateway", node: "internal", keyValue: "")
        let route = LimitKey(route: "support", node: "public", keyValue: "u1")
        backend.down = true
        await sync.report()
        #expect(!store.databaseUp)
        func admitted(_ key: LimitKey) -> Int {
            (0..<20).filter { _ in store.consume(key, cost: 1, limit: 100, window: 3600, technique: .fixed, now: clock.now).isAllowed }.count
        }
        #expect(admitted(open) == 20)
        #expect(admitted(closed) == 0)
        #expect(admitted(route) == 0)
    }

    @Test func databaseDownClosedRefusesOnceLeasesExpireOpenKeepsServing() async throws {
        for policy in LeasedLimitStore.DatabaseDownPolicy.allCases {
            let clock = ManualClock(1_800_000_000)
            let backend = FakeLeaseBackend()
            let settings = LeasedLimitStore.Settings(leaseFraction: 0.1, leaseTTL: 10, onDatabaseDown: policy)
            let (store, sync) = instances(1, backend: backend, clock: clock, settings: settings)[0]
            #expect(store.consume(key, cost: 1, limit: 100, window: 3600, technique: .fixed, now: clock.now).isAllowed)
            await sync.refill()  // a lease of 10
            backend.down = true
            await sync.report()
            #expect(!store.databaseUp)
            // The lease held (10, plus the request admitted ahead) keeps serving: 10 more; then
            // closed refuses and open admits on its own.
            var admitted = 0
            for _ in 0..<20 where store.consume(key, cost: 1, limit: 100, window: 3600, technique: .fixed, now: clock.now).isAllowed { admitted += 1 }
            #expect(admitted == (policy == .open ? 20 : 10), "\(policy)")
            // Closed: held capacity is not used past the TTL (the others may have reclaimed it).
            // The database comes back: a report and a refill restore normal service.
            backend.down = false
            clock.advance(1)
            await sync.report()
            await sync.refill()
            #expect(store.databaseUp)
            #expect(store.consume(key, cost: 1, limit: 100, window: 3600, technique: .fixed, now: clock.now).isAllowed)
        }
    }

    @Test func aNewWindowStartsFromAFreshPool() async throws {
        let clock = ManualClock(1_800_000_000)
        let backend = FakeLeaseBackend()
        let (store, sync) = instances(1, backend: backend, clock: clock, settings: .init(leaseFraction: 1))[0]
        var admitted = 0
        for _ in 0..<10 {
            if store.consume(key, cost: 1, limit: 3, window: 60, technique: .fixed, now: clock.now).isAllowed { admitted += 1 }
            await sync.refill()
        }
        #expect(admitted == 3)
        clock.advance(60)
        await sync.report()
        #expect(store.consume(key, cost: 1, limit: 3, window: 60, technique: .fixed, now: clock.now).isAllowed)
    }
}
