import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardStorage
import Logging
import SwitchyardTestSupport
import Testing

@testable import SwitchyardServer


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

    @Test func aRouteRateLimitSurvivesARestart() async throws {
        let dir = NSTemporaryDirectory() + "switchyard-limit-restart-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = dir + "/limits.sqlite"
        let clock = ManualClock(1_800_000_000 - 1_800_000_000.truncatingRemainder(dividingBy: 60) + 10)
        let u1 = headers([("cf-aig-metadata", #"{"user":"u1"}"#)])
        for instance in 0..<2 {
            let (limits, persister) = try await LimitStorage.open(backend: try SQLiteDatabase(path: db), logger: Logger(label: "test"), now: { clock.now })
            try await RouteFixture.run(routes: ["limited.yaml": Self.limited], limits: limits, limitPersister: persister, directory: dir, now: { clock.now }) { f, client in
                if instance == 0 {
                    for _ in 0..<5 {
                        #expect(try await client.post("/compat/chat/completions", json: chat("dynamic/limited"), headers: u1).status == .ok)
                    }
                } else {
                    // Same window, new instance: u1's window is still full, u9's is not.
                    clock.advance(5)
                    let r = try await client.post("/compat/chat/completions", json: chat("dynamic/limited"), headers: u1)
                    #expect(r.status == .tooManyRequests)
                    #expect(r.json["internalCode"]?.numberValue == 2041)
                    #expect(r.header("retry-after") == "45")
                    #expect(try await client.post("/compat/chat/completions", json: chat("dynamic/limited"), headers: headers([("cf-aig-metadata", #"{"user":"u9"}"#)])).status == .ok)
                }
            }
        }
    }

    @Test func slidingWindowLetsRequestsBackInAsTheOldWindowSlidesOut() async throws {
        let route = """
            nodes:
              gate:
                rate: { limit: 4, per: 1m, technique: sliding }
                then: m
              m:
                model: openai/m-slide
            """
        let clock = ManualClock(1_800_000_000 - 1_800_000_000.truncatingRemainder(dividingBy: 60))
        try await RouteFixture.run(routes: ["slide.yaml": route], now: { clock.now }) { f, client in
            func status() async throws -> Int { Int(try await client.post("/compat/chat/completions", json: chat("dynamic/slide")).status.code) }
            var first: [Int] = []
            for _ in 0..<5 { first.append(try await status()) }
            #expect(first == [200, 200, 200, 200, 429])
            // Start of the next window: the previous one still weighs fully.
            clock.advance(60)
            #expect(try await status() == 429)
            // Half-way: the previous window weighs 2, so two more fit.
            clock.advance(30)
            var half: [Int] = []
            for _ in 0..<3 { half.append(try await status()) }
            #expect(half == [200, 200, 429])
            #expect(f.fake.count(model: "m-slide") == 6)
        }
    }

    @Test func budgetReservationsAreReleasedWhenStreamsFailOrNothingAnswers() async throws {
        let pricing = """
            pricing:
              openai/m-budget: { input: 1000, output: 1000 }
            """
        let limits = InMemoryLimitStore()
        let key = LimitKey(route: "budget", node: "spend", keyValue: "")
        try await RouteFixture.run(routes: ["budget.yaml": Self.budget], extraYAML: pricing, limits: limits, now: { 1_800_000_000 }) { f, client in
            let body = chat("dynamic/budget", stream: true, extra: #","max_tokens":50"#)
            let healthy = try await client.post("/compat/chat/completions", json: body)
            #expect(healthy.status == .ok)
            // The client did not ask for usage; the gateway did, and charged what the stream reported.
            #expect(!healthy.text.contains(#""usage":{"#))
            let afterHealthy = limits.budgetUsage(key, window: 86_400, now: 1_800_000_000)
            #expect(afterHealthy.reserved < 1e-12)
            #expect(afterHealthy.spent > 0 && afterHealthy.spent < 0.05, "\(afterHealthy)")

            f.fake.setBehavior(FakeBehavior(reset: .midStream, resetAfterChunks: 2), forModel: "m-budget")
            _ = try await client.post("/compat/chat/completions", json: body)
            let afterReset = limits.budgetUsage(key, window: 86_400, now: 1_800_000_000)
            #expect(afterReset.reserved < 1e-12, "a broken stream leaves no reservation behind: \(afterReset)")

            f.fake.setBehavior(FakeBehavior(status: 500), forModel: "m-budget")
            let failed = try await client.post("/compat/chat/completions", json: chat("dynamic/budget", extra: #","max_tokens":50"#))
            #expect(failed.status == .internalServerError)
            let afterFailure = limits.budgetUsage(key, window: 86_400, now: 1_800_000_000)
            #expect(afterFailure.reserved < 1e-12)
            #expect(abs(afterFailure.spent - afterReset.spent) < 1e-12, "nothing answered, nothing charged")
        }
    }
}
