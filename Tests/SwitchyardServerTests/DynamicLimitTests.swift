import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// A clock the test moves by hand (Unix seconds).
final class ManualClock: Sendable {
    private let value: Mutex<Double>
    init(_ start: Double) { value = Mutex(start) }
    var now: Double { value.withLock { $0 } }
    func advance(_ seconds: Double) { value.withLock { $0 += seconds } }
}

/// Route rate limits and budgets through the live gateway, with an injected clock.
@Suite struct DynamicLimitTests {
    static let limited = """
        nodes:
          gate:
            rate: { limit: 5, per: 1m, key: metadata.user, technique: fixed }
            then: m
          m:
            model: openai/m-rate
        """

    static let budget = """
        nodes:
          spend:
            budget: { limit: 1, per: 1d }
            then: m
          m:
            model: openai/m-budget
        """

    @Test func exactlyNRequestsPassPerWindowThen2041WithRetryAfter() async throws {
        // 20 s into a minute window.
        let clock = ManualClock(1_800_000_000 - 1_800_000_000.truncatingRemainder(dividingBy: 60) + 20)
        try await RouteFixture.run(routes: ["limited.yaml": Self.limited], now: { clock.now }) { f, client in
            let u1 = headers([("cf-aig-metadata", #"{"user":"u1"}"#)])
            var statuses: [Int] = []
            for _ in 0..<8 {
                statuses.append(Int(try await client.post("/compat/chat/completions", json: chat("dynamic/limited"), headers: u1).status.code))
            }
            #expect(statuses == [200, 200, 200, 200, 200, 429, 429, 429])
            let rejected = try await client.post("/compat/chat/completions", json: chat("dynamic/limited"), headers: u1)
            #expect(rejected.status == .tooManyRequests)
            #expect(rejected.json["internalCode"]?.numberValue == 2041, "\(rejected.text)")
            #expect(rejected.header("retry-after") == "40")
            #expect(rejected.header("x-switchyard-route")?.hasPrefix("limited@") == true)
            #expect(rejected.header("x-switchyard-path")?.hasPrefix("gate") == true, "\(rejected.header("x-switchyard-path") ?? "nil")")
            // Another key has its own window; the next window lets u1 in again.
            #expect(try await client.post("/compat/chat/completions", json: chat("dynamic/limited"), headers: headers([("cf-aig-metadata", #"{"user":"u2"}"#)])).status == .ok)
            clock.advance(39)
            #expect(try await client.post("/compat/chat/completions", json: chat("dynamic/limited"), headers: u1).status == .tooManyRequests)
            clock.advance(1)
            #expect(try await client.post("/compat/chat/completions", json: chat("dynamic/limited"), headers: u1).status == .ok)
            #expect(f.fake.count(model: "m-rate") == 7)
        }
    }

    @Test func budgetHeldUnder200ConcurrentRequests() async throws {
        // $0.001 per token; each request's estimate covers its prompt and max_tokens (100).
        let pricing = """
            pricing:
              openai/m-budget: { input: 1000, output: 1000 }
            """
        let limits = InMemoryLimitStore()
        let now: Double = 1_800_000_000
        let key = LimitKey(route: "budget", node: "spend", keyValue: "")
        try await RouteFixture.run(routes: ["budget.yaml": Self.budget], extraYAML: pricing, limits: limits, now: { now }) { f, client in
            let done = Atomic<Bool>(false)
            // Samples the store while requests run: spent never exceeds the limit plus what is reserved in flight.
            let watcher = Task {
                var worst = -Double.infinity
                while !done.load(ordering: .acquiring) {
                    let u = limits.budgetUsage(key, window: 86_400, now: now)
                    worst = max(worst, u.spent - (1.0 + u.reserved))
                    await Task.yield()
                }
                return worst
            }
            let results = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                for _ in 0..<200 {
                    group.addTask { try await client.post("/compat/chat/completions", json: chat("dynamic/budget", extra: #","max_tokens":100"#)) }
                }
                var all: [TestResponse] = []
                for try await r in group { all.append(r) }
                return all
            }
            done.store(true, ordering: .releasing)
            let worst = await watcher.value
            #expect(worst <= 1e-9, "spent exceeded limit + in-flight estimates by \(worst)")

            var actual = 0.0
            var served = 0
            for r in results {
                if r.status == .ok {
                    served += 1
                    let usage = r.json["usage"]
                    actual += 0.001 * ((usage?["prompt_tokens"]?.numberValue ?? 0) + (usage?["completion_tokens"]?.numberValue ?? 0))
                } else {
                    #expect(r.status == .tooManyRequests)
                    #expect(r.json["internalCode"]?.numberValue == 2041, "\(r.text)")
                    #expect(r.header("retry-after") != nil)
                }
            }
            let usage = limits.budgetUsage(key, window: 86_400, now: now)
            #expect(usage.reserved < 1e-9, "every reservation was reconciled: \(usage)")
            #expect(abs(usage.spent - actual) < 1e-9, "spent \(usage.spent) vs served \(actual)")
            // Estimates bound the real costs here, so reserve-then-reconcile never overspends.
            #expect(usage.spent <= 1.0 + 1e-9)
            // The gateway reserves (body bytes / 4 + max_tokens) tokens per request.
            let estimate = 0.001 * Double(chat("dynamic/budget", extra: #","max_tokens":100"#).utf8.count / 4 + 100)
            #expect(served >= Int(1.0 / estimate), "at least limit / estimate requests fit: \(served)")
            #expect(served < 200)
            #expect(f.fake.count(model: "m-budget") == served)
        }
    }

    @Test func anEstimateAboveTheWholeBudgetIsRejectedWithoutCallingUpstream() async throws {
        let pricing = """
            pricing:
              openai/m-budget: { input: 1000, output: 1000 }
            """
        try await RouteFixture.run(routes: ["budget.yaml": Self.budget], extraYAML: pricing) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/budget", extra: #","max_tokens":5000"#))
            #expect(r.status == .tooManyRequests)
            #expect(r.json["internalCode"]?.numberValue == 2041)
            #expect(f.fake.requests().isEmpty)
        }
    }
}
