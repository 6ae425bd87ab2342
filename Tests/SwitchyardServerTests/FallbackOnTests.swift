import Foundation
import Synchronization
import HummingbirdTesting
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import Testing

@testable import SwitchyardServer

/// The fault matrix for `fallback_on` and `retry_on`: for each class the fake upstream produces
/// the failure, and the route takes the documented path (counted upstream).
@Suite struct FallbackOnTests {
    /// `first` fails as the test's fake rule says; `second` always answers.
    static func route(_ lists: String, model: String = "openai/m-first") -> String {
        """
        nodes:
          first:
            model: \(model)
            retries: 2
            backoff: { delay: 1ms, mode: constant }
        \(lists.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            fallback: second
          second:
            model: openai/m-second
        """
    }

    static let routes: [String: String] = [
        "default.yaml": route(""),
        "any4xx.yaml": route("retry_on: [5xx]\nfallback_on: [4xx, 5xx]"),
        "only401.yaml": route("fallback_on: [401]"),
        "only429.yaml": route("retry_on: []\nfallback_on: [429]"),
        "only5xx.yaml": route("fallback_on: [5xx]"),
        "timeouts.yaml": route("timeout: 200ms\nretry_on: []\nfallback_on: [timeout]"),
        "connects.yaml": route("retry_on: []\nfallback_on: [connect]", model: "deadprov/m-dead"),
        "noconnect.yaml": route("retry_on: []\nfallback_on: [5xx, timeout]", model: "deadprov/m-dead"),
        "filter.yaml": route("fallback_on: [content_filter]"),
        "context.yaml": route("fallback_on: [context_length]"),
        "retry4xx.yaml": route("retry_on: [4xx]\nfallback_on: []"),
    ]

    static func fake(_ behavior: FakeBehavior) -> FakeUpstreamConfiguration { .init(perModel: ["m-first": behavior]) }

    func post(_ client: any TestClientProtocol, _ route: String) async throws -> TestResponse {
        try await client.post("/compat/chat/completions", json: chat("dynamic/\(route)"))
    }

    /// Before `fallback_on`, a 401 or 400 never moved on; by default it still does not.
    @Test func defaultKeeps4xxAtTheFirstModelAnd5xxFallsBack() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 401))) { f, client in
            let r = try await post(client, "default")
            #expect(r.status == .unauthorized)
            #expect(r.header("x-switchyard-path") == "first")
            #expect(f.fake.count(model: "m-first") == 1 && f.fake.count(model: "m-second") == 0)
        }
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 502))) { f, client in
            let r = try await post(client, "default")
            #expect(r.status == .ok)
            #expect(r.header("x-switchyard-path") == "first>second")
            #expect(f.fake.count(model: "m-first") == 3)
        }
    }

    @Test func statusClass4xxFallsBackWithoutRetrying() async throws {
        for status in [400, 401, 403, 404] {
            try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: status))) { f, client in
                let r = try await post(client, "any4xx")
                #expect(r.status == .ok, "\(status)")
                #expect(r.header("cf-aig-model") == "m-second")
                #expect(r.header("cf-aig-step") == "1")
                #expect(r.header("x-switchyard-path") == "first>second")
                #expect(f.fake.count(model: "m-first") == 1, "retry_on: [5xx] does not retry \(status)")
            }
        }
    }

    @Test func exactStatusMatchesOnlyThatStatus() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 401))) { f, client in
            let r = try await post(client, "only401")
            #expect(r.status == .ok)
            #expect(r.header("x-switchyard-path") == "first>second")
        }
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 403))) { f, client in
            let r = try await post(client, "only401")
            #expect(r.status == .forbidden)
            #expect(f.fake.count(model: "m-second") == 0)
        }
        // A 503 is retried (default retry_on) and then returned: 5xx is not in [401].
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 503))) { f, client in
            let r = try await post(client, "only401")
            #expect(r.status == .serviceUnavailable)
            #expect(r.header("x-switchyard-path") == "first")
            #expect(f.fake.count(model: "m-first") == 3 && f.fake.count(model: "m-second") == 0)
        }
    }

    @Test func status429MovesOnAtOnceWhenNotRetried() async throws {
        let sleeps = Mutex<[Seconds]>([])
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 429, retryAfter: "5")),
                                   retrySleep: { d in sleeps.withLock { $0.append(d) } }) { f, client in
            let r = try await post(client, "only429")
            #expect(r.status == .ok)
            #expect(r.header("x-switchyard-path") == "first>second")
            #expect(f.fake.count(model: "m-first") == 1)
        }
        // retry_on: [] means the Retry-After of 5 s is never waited for.
        #expect(sleeps.withLock { $0 } == [])
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 429, retryAfter: "0.01"))) { f, client in
            let r = try await post(client, "only5xx")
            #expect(r.status == .tooManyRequests)
            #expect(f.fake.count(model: "m-first") == 3 && f.fake.count(model: "m-second") == 0)
        }
    }

    @Test func timeoutClass() async throws {
        // m-first answers only after 10 s: reaching `second` shows the 200 ms timeout ended it
        // (no wall-clock bound: a loaded 2-core machine stretches every wait).
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(latencyMs: 10_000))) { f, client in
            let r = try await post(client, "timeouts")
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-model") == "m-second")
            #expect(r.header("x-switchyard-path") == "first>second")
            #expect(f.fake.count(model: "m-first") == 1, "retry_on: [] does not retry the timeout")
        }
        // Not in the list: the timeout is the answer (2044), the fallback is never asked.
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(latencyMs: 10_000))) { f, client in
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/filter"), headers: headers([("cf-aig-request-timeout", "150")]))
            #expect(r.status == .gatewayTimeout)
            #expect(r.json["internalCode"]?.numberValue == 2044, "\(r.text)")
            #expect(r.header("x-switchyard-path") == "first")
            #expect(f.fake.count(model: "m-second") == 0)
        }
    }

    @Test func connectClass() async throws {
        try await RouteFixture.run(routes: Self.routes) { f, client in
            let r = try await post(client, "connects")
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-model") == "m-second")
            #expect(r.header("x-switchyard-path") == "first>second")
            let refused = try await post(client, "noconnect")
            #expect(refused.status == .badGateway, "\(refused.text)")
            #expect(refused.header("x-switchyard-path") == "first")
            #expect(f.fake.requests().map(\.model) == ["m-second"])
        }
    }

    @Test func contentFilterClassReadsTheErrorBody() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(error: .contentFilter))) { f, client in
            let r = try await post(client, "filter")
            #expect(r.status == .ok)
            #expect(r.header("x-switchyard-path") == "first>second")
            #expect(f.fake.count(model: "m-first") == 1)
            // Another list does not move on for it, and a plain 400 is not a content filter.
            let context = try await post(client, "context")
            #expect(context.status == .badRequest)
            #expect(context.json["error"]?["code"]?.stringValue == "content_filter", "\(context.text)")
            let byDefault = try await post(client, "default")
            #expect(byDefault.status == .badRequest)
            #expect(f.fake.count(model: "m-second") == 1)
        }
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 400))) { f, client in
            let r = try await post(client, "filter")
            #expect(r.status == .badRequest)
            #expect(f.fake.count(model: "m-second") == 0)
        }
    }

    @Test func contextLengthClassReadsTheErrorBody() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(error: .contextLength))) { f, client in
            let r = try await post(client, "context")
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-model") == "m-second")
            #expect(r.header("x-switchyard-path") == "first>second")
            let filter = try await post(client, "filter")
            #expect(filter.status == .badRequest)
            #expect(filter.json["error"]?["code"]?.stringValue == "context_length_exceeded", "\(filter.text)")
            #expect(f.fake.count(model: "m-second") == 1)
        }
    }

    @Test func retryOnAStatusClassRetriesIt() async throws {
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 404))) { f, client in
            let r = try await post(client, "retry4xx")
            #expect(r.status == .notFound)
            #expect(f.fake.count(model: "m-first") == 3)
            #expect(f.fake.count(model: "m-second") == 0, "fallback_on: [] never moves on")
        }
        try await RouteFixture.run(routes: Self.routes, fake: Self.fake(FakeBehavior(status: 500))) { f, client in
            let r = try await post(client, "retry4xx")
            #expect(r.status == .internalServerError)
            #expect(f.fake.count(model: "m-first") == 1, "5xx is not in retry_on: [4xx]")
        }
    }
}
