import Foundation
import Synchronization
import Testing
@testable import SwitchyardCore

/// Limit state stays bounded whatever keys clients choose: expired counters are evicted (changing
/// no decision) and the number of keys is capped.
@Suite struct LimitStoreBoundsTests: RouteLimitTesting {

    // MARK: Many long keys

    /// 1,000 keys of 500 KB (half a gigabyte hashed): the property is the same at 10,000, and the
    /// CPU it took starved the wall-clock bounds of the server suites running beside it.
    @Test func manyHalfMegabyteKeysAreStoredShortAndDistinct() throws {
        let count = 1000
        let g = try graph(Self.keyedOnUser)
        let store = InMemoryLimitStore()
        let limits = RecordingLimits(store)
        let base = String(repeating: "x", count: 500_000)
        let now = 1_800_000_000.0
        for i in 0..<count {
            let user = "\(i)-" + base
            guard case .attempt = run(g, RequestFacts(body: .object(["user": .string(user)])), limits: limits, now: now) else {
                Issue.record("request \(i) was refused"); return
            }
        }
        let keys = limits.keys.withLock { $0 }
        #expect(keys.count == count)
        #expect(keys.allSatisfy { $0.keyValue.utf8.count <= LimitKeyText.maxBytes })
        #expect(Set(keys.map(\.keyValue)).count == count)
        #expect(store.keyCount == count)

        // The same long value again hits its own counter (limit 1) and is named briefly.
        let again = run(g, RequestFacts(body: .object(["user": .string("7-" + base)])), limits: limits, now: now + 1)
        guard case .rejected(let r) = again else { Issue.record("the repeated key was not limited: \(again)"); return }
        #expect(r.chosenStatus == nil && r.kind != .reject)
        #expect(r.message.utf8.count < 200, "\(r.message.utf8.count) bytes")
        #expect(r.message.contains("sha256:"))
        // Another long value still has its own, fresh counter.
        #expect(store.consume(LimitKey(route: "t", node: "gate", keyValue: LimitKeyText.bounded("\(count)-" + base)), cost: 1, limit: 1, window: 60, technique: .fixed, now: now + 1).isAllowed)
    }

    // MARK: Eviction

    @Test func expiredRateCountersAreEvicted() {
        let store = InMemoryLimitStore()
        let t0 = 1_800_000_000.0  // a multiple of 60
        for i in 0..<10_000 {
            _ = store.consume(LimitKey(route: "r", node: "n", keyValue: "u\(i)"), cost: 1, limit: 10, window: 60, technique: .sliding, now: t0 + 1)
        }
        #expect(store.keyCount == 10_000)
        // The next window still weighs this one (sliding): nothing may go yet.
        store.evictExpired(now: t0 + 119)
        #expect(store.keyCount == 10_000)
        #expect(store.evictedCount == 0)
        // Both windows have passed: an ordinary request sweeps them all.
        _ = store.consume(LimitKey(route: "r", node: "n", keyValue: "fresh"), cost: 1, limit: 10, window: 60, technique: .sliding, now: t0 + 120)
        #expect(store.keyCount == 1)
        #expect(store.evictedCount == 10_000)
    }

    @Test func activeCountersStayAndBudgetsWaitForTheirReservations() {
        let store = InMemoryLimitStore()
        let t0 = 1_800_000_000.0
        let hot = LimitKey(route: "r", node: "n", keyValue: "hot")
        for t in stride(from: t0, to: t0 + 600, by: 30) {
            #expect(store.consume(hot, cost: 1, limit: 1000, window: 60, technique: .fixed, now: t).isAllowed)
        }
        #expect(store.keyCount == 1)

        let org = LimitKey(route: "r", node: "b", keyValue: "org")
        guard case .reserved(let held) = store.reserve(org, amount: 0.5, limit: 1, window: 3600, now: t0 + 600) else {
            Issue.record("reservation refused"); return
        }
        // The budget's hour has passed but a request still holds a reservation against it.
        store.evictExpired(now: t0 + 7200 + 1)
        #expect(store.keyCount == 1, "the hot rate counter expired, the held budget did not")
        store.reconcile(held, actualCost: 0.25)
        store.evictExpired(now: t0 + 7200 + 3600 * 2)
        #expect(store.keyCount == 0)
        #expect(store.budgetUsage(org, window: 3600, now: t0 + 7200 + 3600 * 2) == (spent: 0, reserved: 0))
    }

    // MARK: Cap on keys

    @Test func aFullStoreRefusesNewKeysAndServesExistingOnes() {
        let store = InMemoryLimitStore(maxKeys: 3)
        let t0 = 1_800_000_000.0
        func key(_ v: String) -> LimitKey { LimitKey(route: "r", node: "n", keyValue: v) }
        for v in ["a", "b", "c"] { #expect(store.consume(key(v), cost: 1, limit: 5, window: 60, technique: .fixed, now: t0) == .allowed(remaining: 4)) }
        guard case .tooManyKeys(let retry) = store.consume(key("d"), cost: 1, limit: 5, window: 60, technique: .fixed, now: t0 + 1) else {
            Issue.record("a fourth key was admitted"); return
        }
        #expect(retry > 0 && retry <= 60)
        if case .tooManyKeys = store.reserve(key("e"), amount: 0, limit: 1, window: 60, now: t0 + 1) {} else { Issue.record("a budget key was admitted") }
        #expect(store.refusedNewKeys == 2)
        // Existing keys keep counting; shared buckets are always admitted.
        #expect(store.consume(key("a"), cost: 1, limit: 5, window: 60, technique: .fixed, now: t0 + 2) == .allowed(remaining: 3))
        #expect(store.consume(LimitKey(route: "gateway", node: "default", keyValue: ""), cost: 1, limit: 5, window: 60, technique: .fixed, now: t0 + 2).isAllowed)
        #expect(store.keyCount == 4)
        // Once the old counters expire there is room again.
        #expect(store.consume(key("d"), cost: 1, limit: 5, window: 60, technique: .fixed, now: t0 + 120).isAllowed)
        #expect(store.keyCount == 1)
        #expect(store.evictedCount == 4)
    }

    @Test func aRefusedKeyIsRejectedWith2041OrFollowsExceeded() throws {
        let store = InMemoryLimitStore(maxKeys: 1)
        let t0 = 1_800_000_000.0
        let reject = try graph(Self.keyedOnUser)
        func facts(_ user: String) -> RequestFacts { RequestFacts(body: .object(["user": .string(user)])) }
        guard case .attempt = run(reject, facts("first"), limits: store, now: t0) else { Issue.record("first key refused"); return }
        guard case .rejected(let r) = run(reject, facts(String(repeating: "q", count: 1000)), limits: store, now: t0) else {
            Issue.record("a second key was admitted"); return
        }
        #expect(r.chosenStatus == nil && r.kind != .reject)
        #expect(r.message.contains("too many distinct keys") && r.message.contains("limits.max_limit_keys"), "\(r.message)")
        #expect(r.message.utf8.count < 200)
        #expect(r.retryAfter != nil)

        let soft = try graph("""
            nodes:
              gate:
                rate: { limit: 1, per: 1m, key: body.user }
                then: openai/gpt-5.2
                exceeded: openai/gpt-5-nano
            """, name: "soft")
        guard case .attempt(let a) = run(soft, facts("other"), limits: store, now: t0) else { Issue.record("not routed"); return }
        #expect(a.target.description == "openai/gpt-5-nano")
        #expect(store.refusedNewKeys == 2)
    }

    // MARK: Eviction changes no decision

    /// The store as it was before eviction: counters kept forever.
    final class Unbounded: LimitStore {
        let rates = Mutex<[LimitKey: WindowCounter]>([:])
        let budgets = Mutex<[LimitKey: InMemoryLimitStore.BudgetState]>([:])
        func consume(_ key: LimitKey, cost: Double, limit: Double, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> RateDecision {
            rates.withLock { $0[key, default: WindowCounter()].consume(cost: cost, limit: limit, window: window, technique: technique, now: now) }
        }
        func reserve(_ key: LimitKey, amount: Double, limit: Double, window: Seconds, now: Double) -> BudgetDecision {
            let start = WindowCounter.windowStart(for: now, window: window)
            return budgets.withLock { s in
                var b = s[key] ?? .init(windowStart: start, spent: 0, reserved: 0)
                if b.windowStart != start { b = .init(windowStart: start, spent: 0, reserved: 0) }
                if b.spent + b.reserved + amount > limit + 1e-12 || b.spent >= limit {
                    s[key] = b
                    return .exceeded(retryAfter: max(start + window - now, 0.001))
                }
                b.reserved += amount
                s[key] = b
                return .reserved(BudgetReservation(key: key, windowStart: start, amount: amount))
            }
        }
        func reconcile(_ reservation: BudgetReservation, actualCost: Double) {
            budgets.withLock { s in
                guard var b = s[reservation.key] else { return }
                if b.windowStart == reservation.windowStart { b.reserved = max(0, b.reserved - reservation.amount) }
                b.spent += actualCost
                s[reservation.key] = b
            }
        }
        func budgetUsage(_ key: LimitKey, window: Seconds, now: Double) -> (spent: Double, reserved: Double) {
            let start = WindowCounter.windowStart(for: now, window: window)
            return budgets.withLock { s in
                guard let b = s[key], b.windowStart == start else { return (0, 0) }
                return (b.spent, b.reserved)
            }
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func evictionChangesNoDecision(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        func uniform(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        let store = InMemoryLimitStore()
        let reference = Unbounded()
        // 60 rate keys and 20 budget keys, each with its own window and technique.
        let windows: [Seconds] = [1, 7, 60, 300]
        struct Spec {
            var key: LimitKey
            var window: Seconds
            var technique: RouteNode.WindowTechnique
            var limit: Double
        }
        var rateKeys: [Spec] = []
        for i in 0..<60 {
            let technique: RouteNode.WindowTechnique = i % 2 == 0 ? .fixed : .sliding
            rateKeys.append(Spec(key: LimitKey(route: "r", node: "rate", keyValue: "k\(i)"), window: windows[i % 4], technique: technique, limit: Double(1 + i % 5)))
        }
        var budgetKeys: [Spec] = []
        for i in 0..<20 {
            budgetKeys.append(Spec(key: LimitKey(route: "r", node: "budget", keyValue: "b\(i)"), window: windows[i % 4], technique: .fixed, limit: Double(1 + i % 3)))
        }
        var held: [BudgetReservation] = []
        var now = 1_800_000_000.0
        var decisions = 0
        for _ in 0..<50_000 {
            // Mostly small steps, sometimes a long quiet spell.
            now += uniform(50) == 0 ? Double(uniform(900)) : Double(uniform(1000)) / 1000
            switch uniform(10) {
            case 0..<6:
                let k = rateKeys[uniform(uniform(4) == 0 ? rateKeys.count : 6)]
                let a = store.consume(k.key, cost: 1, limit: k.limit, window: k.window, technique: k.technique, now: now)
                let b = reference.consume(k.key, cost: 1, limit: k.limit, window: k.window, technique: k.technique, now: now)
                #expect(a == b)
                if a != b { return }
            case 6..<8:
                let k = budgetKeys[uniform(budgetKeys.count)]
                // Amounts in 1/256ths: sums are exact, so only eviction could make a difference.
                let amount = Double(uniform(128)) / 256
                let a = store.reserve(k.key, amount: amount, limit: k.limit, window: k.window, now: now)
                let b = reference.reserve(k.key, amount: amount, limit: k.limit, window: k.window, now: now)
                #expect(a == b)
                if a != b { return }
                if case .reserved(let r) = a { held.append(r) }
                let ua = store.budgetUsage(k.key, window: k.window, now: now)
                let ub = reference.budgetUsage(k.key, window: k.window, now: now)
                #expect(ua == ub)
            default:
                guard !held.isEmpty else { continue }
                held.swapAt(uniform(held.count), held.count - 1)
                let r = held.removeLast()
                let cost = Double(uniform(256)) / 256
                store.reconcile(r, actualCost: cost)
                reference.reconcile(r, actualCost: cost)
            }
            decisions += 1
        }
        #expect(decisions > 37_500)
        #expect(store.evictedCount > 1000, "the workload must evict to test anything")
        #expect(store.keyCount < 80)
    }
}
