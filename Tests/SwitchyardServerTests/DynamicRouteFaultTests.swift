import Foundation
import Hummingbird
import Logging
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import SwitchyardStorage
import Testing

@testable import SwitchyardServer

/// A live gateway serving a routes directory against one fake upstream (as `openai`, plus a
/// provider nobody listens for), with an injectable clock.
struct RouteFixture: Sendable {
    let directory: String
    let fake: FakeUpstream
    let table: RouteTable
    let configuration: GatewayConfiguration

    func write(_ file: String, _ contents: String) throws {
        try contents.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
    }

    static func run(
        routes: [String: String], extraYAML: String = "", fake fakeConfiguration: FakeUpstreamConfiguration = .init(),
        limits: any LimitStore = InMemoryLimitStore(), limitPersister: LimitPersister? = nil, directory: String? = nil, now: @escaping @Sendable () -> Double = { 1_800_000_000 },
        retrySleep: @escaping @Sendable (Seconds) async throws -> Void = AttemptExecutor.taskSleep,
        _ body: @Sendable (RouteFixture, any TestClientProtocol) async throws -> Void
    ) async throws {
        let fake = try await FakeUpstream.start(fakeConfiguration)
        let dir = directory ?? NSTemporaryDirectory() + "switchyard-fault-\(UUID().uuidString)"
        // A directory the caller passed outlives this run (a restart reuses it).
        defer { if directory == nil { try? FileManager.default.removeItem(atPath: dir) } }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (name, text) in routes { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
            var configuration = try ConfigurationParser.parse("""
                routes: \(dir)
                providers:
                  openai: { base_url: "\(fake.openAIBaseURL)", keys: { default: sk-test } }
                  deadprov: { kind: openai-compatible, base_url: "http://127.0.0.1:1/v1" }
                \(extraYAML)
                """, environment: [:])
            configuration.listen.port = 0
            let catalog = RouteLoading.load(directory: dir, configuration: configuration)
            let table = RouteTable(catalog)
            let fixture = RouteFixture(directory: dir, fake: fake, table: table, configuration: configuration)
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let app = buildApplication(configuration: configuration, environment: [:], routeTable: table, logger: logger, limits: limits, limitPersister: limitPersister, now: now, randomSeed: 0x5eed, retrySleep: retrySleep)
            try await app.test(.router) { client in try await body(fixture, client) }
        } catch {
            try? await fake.shutdown()
            throw error
        }
        try await fake.shutdown()
    }
}

extension FakeUpstream {
    func count(model: String) -> Int { requests().filter { $0.model == model }.count }
}

func chat(_ model: String, stream: Bool = false, extra: String = "") -> String {
    #"{"model":"\#(model)","messages":[{"role":"user","content":"hello there"}],"stream":\#(stream)\#(extra)}"#
}

func headers(_ pairs: [(String, String)]) -> HTTPFields {
    var h = HTTPFields()
    for (n, v) in pairs { h[HTTPField.Name(n)!] = v }
    return h
}

/// The fault matrix through the real server: one upstream fault per test, counted upstream.
@Suite struct DynamicRouteFaultTests {
    static let routes = [
        "support.yaml": """
            nodes:
              plan:
                if: metadata.plan == "paid"
                then: primary
                else: cheap
              primary:
                model: openai/m-primary
                retries: 2
                backoff: { delay: 1ms, mode: exponential }
                fallback: secondary
              secondary:
                model: openai/m-secondary
              cheap:
                model: openai/m-cheap
            """,
        "strict.yaml": """
            nodes:
              only:
                model: openai/m-strict
                retries: 2
                backoff: { delay: 1ms, mode: constant }
            """,
        "quick.yaml": """
            nodes:
              first:
                model: openai/m-slow
                timeout: 200ms
                fallback: second
              second:
                model: openai/m-second
            """,
        "dead.yaml": """
            nodes:
              first:
                model: deadprov/m-dead
                retries: 1
                backoff: { delay: 1ms, mode: constant }
                fallback: second
              second:
                model: openai/m-after-dead
            """,
    ]
    static let paid = headers([("cf-aig-metadata", #"{"plan":"paid"}"#)])

    @Test func conditionalByMetadataNamesTheRouteVersionAndPath() async throws {
        try await RouteFixture.run(routes: Self.routes) { f, client in
            let version = try f.table.current.graph(named: "support").version
            let paid = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: Self.paid)
            #expect(paid.status == .ok)
            #expect(paid.header("cf-aig-model") == "m-primary")
            #expect(paid.header("cf-aig-provider") == "openai")
            #expect(paid.header("cf-aig-step") == "0")
            #expect(paid.header("x-switchyard-route") == "support@\(version)")
            #expect(paid.header("x-switchyard-path") == "plan>primary")
            #expect(paid.json["choices"]?.arrayValue?.isEmpty == false)
            let free = try await client.post("/compat/chat/completions", json: chat("dynamic/support"))
            #expect(free.header("cf-aig-model") == "m-cheap")
            #expect(free.header("x-switchyard-path") == "plan>cheap")
            #expect(f.fake.count(model: "m-primary") == 1 && f.fake.count(model: "m-cheap") == 1)
            #expect(f.fake.count(model: "dynamic/support") == 0)
        }
    }

    @Test func status500IsRetriedThenFallsBack() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-primary": FakeBehavior(status: 500)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.header("cf-aig-model") == "m-secondary")
            #expect(r.header("x-switchyard-path") == "plan>primary>secondary")
            #expect(r.json["choices"]?[0]?["message"]?["content"]?.stringValue != nil)
            #expect(f.fake.count(model: "m-primary") == 3)
            #expect(f.fake.count(model: "m-secondary") == 1)
        }
    }

    @Test func status503TwiceThenSuccessStaysOnTheFirstModel() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-primary": FakeBehavior(failFirst: 2, failStatus: 503)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "0")
            #expect(r.header("cf-aig-model") == "m-primary")
            #expect(r.header("x-switchyard-path") == "plan>primary")
            #expect(f.fake.count(model: "m-primary") == 3)
            #expect(f.fake.count(model: "m-secondary") == 0)
        }
    }

    @Test func status503OnTheLastModelIsReturnedAsTheUpstreamSaidIt() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-strict": FakeBehavior(status: 503)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/strict"))
            #expect(r.status == .serviceUnavailable)
            #expect(r.json["error"]?["message"]?.stringValue != nil, "\(r.text)")
            #expect(r.header("cf-aig-step") == "0")
            #expect(r.header("x-switchyard-path") == "only")
            #expect(f.fake.count(model: "m-strict") == 3)
        }
    }

    @Test func status400IsNotRetried() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-strict": FakeBehavior(status: 400)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/strict"))
            #expect(r.status == .badRequest)
            #expect(r.json["error"]?["message"]?.stringValue != nil)
            #expect(f.fake.count(model: "m-strict") == 1)
        }
    }

    @Test func status429WaitsForRetryAfter() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-strict": FakeBehavior(status: 429, retryAfter: "0.15")])) { f, client in
            let started = ContinuousClock.now
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/strict"))
            let elapsed = ContinuousClock.now - started
            #expect(r.status == .tooManyRequests)
            #expect(f.fake.count(model: "m-strict") == 3)
            // Two waits of Retry-After (0.15 s) rather than the route's 1 ms backoff.
            #expect(elapsed >= .milliseconds(300), "\(elapsed)")
            // Not the policy's 30 s cap (two waits: 60 s): a loose bound, because a loaded 2-core
            // machine stretches every wait.
            #expect(elapsed < .seconds(20), "\(elapsed)")
        }
    }

    @Test func status429ThenFallbackServes() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-primary": FakeBehavior(status: 429, retryAfter: "0.01")])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.header("cf-aig-model") == "m-secondary")
            #expect(f.fake.count(model: "m-primary") == 3)
        }
    }

    // The slow model answers after 10 s. The answer comes from the second model at step 1: the
    // timeout, not the upstream, ended the first attempt (no wall-clock bound, which a loaded
    // machine can stretch).
    @Test func timeoutToFirstByteFallsBack() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-slow": FakeBehavior(latencyMs: 10_000)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/quick"))
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.header("cf-aig-model") == "m-second")
            #expect(r.header("x-switchyard-path") == "first>second")
            #expect(f.fake.count(model: "m-slow") == 1)
        }
    }

    @Test func timeoutOnTheLastModelIs2044() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-slow": FakeBehavior(latencyMs: 10_000), "m-second": FakeBehavior(latencyMs: 10_000)])) { f, client in
            // Both models answer after 10 s: a 504/2044 can only come from the timeouts.
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/quick"), headers: headers([("cf-aig-request-timeout", "150")]))
            #expect(r.status == .gatewayTimeout)
            #expect(r.json["internalCode"]?.numberValue == 2044, "\(r.text)")
            #expect(r.header("x-switchyard-path") == "first>second")
        }
    }

    @Test func connectionRefusedIsRetriedThenFallsBack() async throws {
        try await RouteFixture.run(routes: Self.routes) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/dead"))
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.header("cf-aig-provider") == "openai")
            #expect(r.header("cf-aig-model") == "m-after-dead")
            #expect(r.header("x-switchyard-path") == "first>second")
            #expect(f.fake.requests().map(\.model) == ["m-after-dead"])
        }
    }

    @Test func resetBeforeFirstByteIsRetriedThenFallsBack() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-primary": FakeBehavior(reset: .beforeFirstByte)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.header("cf-aig-model") == "m-secondary")
            #expect(r.header("x-switchyard-path") == "plan>primary>secondary")
            #expect(f.fake.count(model: "m-primary") == 3)
        }
    }

    @Test func malformedBodyIsRetriedThenFallsBack() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-primary": FakeBehavior(malformed: true)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.header("cf-aig-model") == "m-secondary")
            #expect(r.json["choices"]?[0]?["message"]?["content"]?.stringValue != nil, "\(r.text)")
            #expect(f.fake.count(model: "m-primary") == 3)
        }
    }

    @Test func malformedBodyOnTheLastModelIs2005() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-strict": FakeBehavior(malformed: true)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/strict"))
            #expect(r.status.code >= 500, "\(r.status)")
            #expect(r.json["internalCode"]?.numberValue == 2005, "\(r.text)")
            #expect(f.fake.count(model: "m-strict") == 3)
        }
    }

    @Test func resetMidStreamNeverSwitchesModelAndEndsWithAnErrorEvent() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-primary": FakeBehavior(reset: .midStream, resetAfterChunks: 2)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support", stream: true), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-model") == "m-primary")
            #expect(r.header("cf-aig-step") == "0")
            #expect(r.header("x-switchyard-path") == "plan>primary")
            #expect(r.header("content-type") == "text/event-stream")
            let events = SSEPayloads(r.text)
            #expect(events.chunks.contains { $0["choices"] != nil }, "\(r.text)")
            #expect(events.chunks.last?["error"] != nil, "the stream ends with an error event: \(r.text)")
            #expect(!events.payloads.contains("[DONE]"))
            #expect(f.fake.count(model: "m-primary") == 1, "a started stream is not retried")
            #expect(f.fake.count(model: "m-secondary") == 0)
        }
    }

    @Test func healthyStreamEndsWithDone() async throws {
        try await RouteFixture.run(routes: Self.routes) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support", stream: true), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.text.hasSuffix("data: [DONE]\n\n"))
            #expect(r.header("x-switchyard-path") == "plan>primary")
        }
    }

    @Test func unknownRouteIs2042AndNamesTheKnownOnes() async throws {
        try await RouteFixture.run(routes: Self.routes) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/nope"))
            #expect(r.status == .notFound)
            #expect(r.json["internalCode"]?.numberValue == 2042)
            #expect(f.fake.requests().isEmpty)
        }
    }

    @Test func aStreamWhoseFirstModelFailsBeforeTheFirstByteFallsBack() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-primary": FakeBehavior(status: 500)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support", stream: true), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-step") == "1")
            #expect(r.header("cf-aig-model") == "m-secondary")
            #expect(r.header("content-type") == "text/event-stream")
            #expect(r.text.hasSuffix("data: [DONE]\n\n"))
            #expect(!SSEPayloads(r.text).content.isEmpty)
            #expect(f.fake.count(model: "m-primary") == 3)
        }
    }

    @Test func anInStreamErrorEventNeverSwitchesModel() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: .init(perModel: ["m-primary": FakeBehavior(streamErrorAfterChunks: 2)])) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support", stream: true), headers: Self.paid)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-model") == "m-primary")
            #expect(r.header("cf-aig-step") == "0")
            #expect(SSEPayloads(r.text).chunks.last?["error"] != nil, "\(r.text)")
            #expect(f.fake.count(model: "m-primary") == 1)
            #expect(f.fake.count(model: "m-secondary") == 0)
        }
    }

    @Test func metadataThatIsNotAnObjectIs400WithoutCallingUpstream() async throws {
        try await RouteFixture.run(routes: Self.routes) { f, client in
            for bad in ["[1]", "not json", "\"paid\""] {
                let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: headers([("cf-aig-metadata", bad)]))
                #expect(r.status == .badRequest, "\(bad)")
                #expect(r.json["internalCode"]?.numberValue != nil, "\(bad): \(r.text)")
            }
            #expect(f.fake.requests().isEmpty)
            // Nested values are dropped (metadata is flat), so a nested plan is no plan.
            let nested = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: headers([("cf-aig-metadata", #"{"plan":{"is":"paid"}}"#)]))
            #expect(nested.status == .ok)
            #expect(nested.header("cf-aig-model") == "m-cheap")
        }
    }

    @Test func conditionsOnBodyAndHeaders() async throws {
        let route = """
            nodes:
              size:
                if: body.max_tokens > 100 or headers["x-tier"] == "gold"
                then: big
                else: small
              big:
                model: openai/m-big
              small:
                model: openai/m-small
            """
        try await RouteFixture.run(routes: ["sized.yaml": route]) { f, client in
            let small = try await client.post("/compat/chat/completions", json: chat("dynamic/sized", extra: #","max_tokens":50"#))
            #expect(small.header("cf-aig-model") == "m-small")
            #expect(small.header("x-switchyard-path") == "size>small")
            let big = try await client.post("/compat/chat/completions", json: chat("dynamic/sized", extra: #","max_tokens":500"#))
            #expect(big.header("cf-aig-model") == "m-big")
            let gold = try await client.post("/compat/chat/completions", json: chat("dynamic/sized"), headers: headers([("X-Tier", "gold")]))
            #expect(gold.header("cf-aig-model") == "m-big")
            #expect(f.fake.requests().map(\.model) == ["m-small", "m-big", "m-big"])
        }
    }
}
