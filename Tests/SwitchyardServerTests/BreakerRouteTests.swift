import Foundation
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import SwitchyardTestSupport
import Testing

@testable import SwitchyardServer

/// `breaker:` through the real server, with the gateway's clock moved by hand: it opens after
/// N failures, skips the target (counted upstream), half-opens after the cooldown and closes on
/// the probe's success; `/admin/routes` and `/metrics` show it.
@Suite struct BreakerRouteTests {
    static let routes = [
        "guarded.yaml": """
            nodes:
              first:
                model: openai/m-flaky
                breaker: { failures: 2, within: 30s, cooldown: 60s }
                fallback: second
              second:
                model: openai/m-steady
            """,
    ]

    @Test func opensSkipsHalfOpensAndCloses() async throws {
        let clock = ManualClock()
        // The first two requests for m-flaky fail with 500; later ones succeed.
        let fake = FakeUpstreamConfiguration(perModel: ["m-flaky": FakeBehavior(failFirst: 2, failStatus: 500)])
        try await RouteFixture.run(routes: Self.routes, fake: fake, now: { clock.now }) { f, client in
            func send() async throws -> TestResponse {
                try await client.post("/compat/chat/completions", json: chat("dynamic/guarded"))
            }
            func breaker() async throws -> JSONValue? {
                let r = try await client.execute(uri: "/admin/routes", method: .get)
                let doc = try JSONValue.parse(Data(r.body.readableBytesView))
                return doc["routes"]?.arrayValue?.first { $0["name"]?.stringValue == "guarded" }?["targets"]?[0]
            }
            func gauge() async throws -> String {
                let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
                return text.split(separator: "\n").first { $0.hasPrefix("switchyard_breaker_state{") }.map(String.init) ?? "(none)"
            }
            #expect(try await breaker()?["breaker"]?["state"]?.stringValue == "closed")
            for _ in 0..<2 {
                let r = try await send()
                #expect(r.status == .ok)
                #expect(r.header("cf-aig-model") == "m-steady")
                clock.advance(1)
            }
            #expect(f.fake.count(model: "m-flaky") == 2)
            let open = try await breaker()
            #expect(open?["breaker"]?["state"]?.stringValue == "open", "\(String(describing: open))")
            #expect(open?["target"]?.stringValue == "openai/m-flaky" && open?["node"]?.stringValue == "first")
            let openGauge = try await gauge()
            #expect(openGauge.contains(#"route="guarded""#) && openGauge.contains(#"target="openai/m-flaky""#) && openGauge.hasSuffix(" 1.0"), "\(openGauge)")

            // Open: skipped without a call upstream, like a failed attempt.
            for _ in 0..<3 {
                let r = try await send()
                #expect(r.status == .ok)
                #expect(r.header("cf-aig-model") == "m-steady")
                #expect(r.header("cf-aig-step") == "0")
                #expect(r.header("x-switchyard-path") == "first>second")
            }
            #expect(f.fake.count(model: "m-flaky") == 2)

            // After the cooldown one probe goes; m-flaky now answers, which closes the breaker.
            clock.advance(60)
            #expect(try await breaker()?["breaker"]?["state"]?.stringValue == "half-open")
            let probe = try await send()
            #expect(probe.header("cf-aig-model") == "m-flaky")
            #expect(probe.header("x-switchyard-path") == "first")
            #expect(try await breaker()?["breaker"]?["state"]?.stringValue == "closed")
            #expect(try await gauge().hasSuffix(" 0.0"))
            #expect(try await breaker()?["in_flight"]?.numberValue == 0)
            let after = try await send()
            #expect(after.header("cf-aig-model") == "m-flaky")
            #expect(f.fake.count(model: "m-flaky") == 4)
        }
    }

    @Test func stateSurvivesAReloadThatKeepsTheNode() async throws {
        let clock = ManualClock()
        let fake = FakeUpstreamConfiguration(perModel: ["m-flaky": FakeBehavior(status: 503)])
        try await RouteFixture.run(routes: Self.routes, fake: fake, now: { clock.now }) { f, client in
            for _ in 0..<2 { _ = try await client.post("/compat/chat/completions", json: chat("dynamic/guarded")) }
            #expect(f.fake.count(model: "m-flaky") == 2)
            // Same node and target, another description: a new version with the same breaker.
            try f.write("guarded.yaml", "description: reloaded\n" + Self.routes["guarded.yaml"]!)
            _ = f.table.reload(directory: f.directory, configuration: f.configuration, force: true)
            let r = try await client.post("/compat/chat/completions", json: chat("dynamic/guarded"))
            #expect(r.header("cf-aig-model") == "m-steady")
            #expect(f.fake.count(model: "m-flaky") == 2, "still open after the reload")
            // A changed breaker is a new target state.
            try f.write("guarded.yaml", Self.routes["guarded.yaml"]!.replacingOccurrences(of: "failures: 2", with: "failures: 3"))
            _ = f.table.reload(directory: f.directory, configuration: f.configuration, force: true)
            _ = try await client.post("/compat/chat/completions", json: chat("dynamic/guarded"))
            #expect(f.fake.count(model: "m-flaky") == 3)
        }
    }

    @Test func aSkippedNodeWithNothingAfterItAnswers503() async throws {
        let clock = ManualClock()
        let routes = ["alone.yaml": "nodes:\n  only:\n    model: openai/m-down\n    breaker: { failures: 1, within: 10s, cooldown: 30s }\n"]
        try await RouteFixture.run(routes: routes, fake: FakeUpstreamConfiguration(perModel: ["m-down": FakeBehavior(status: 502)]), now: { clock.now }) { f, client in
            let failed = try await client.post("/compat/chat/completions", json: chat("dynamic/alone"))
            #expect(failed.status == .badGateway)
            clock.advance(10)
            let skipped = try await client.post("/compat/chat/completions", json: chat("dynamic/alone"))
            #expect(skipped.status == .serviceUnavailable)
            #expect(skipped.json["internalCode"]?.numberValue == 2050, "\(skipped.text)")
            #expect(skipped.header("retry-after") == "20")
            #expect(skipped.text.contains("circuit breaker is open"))
            #expect(f.fake.count(model: "m-down") == 1)
        }
    }

    @Test func maxConcurrencyCountsAttemptsInFlight() {
        let health = TargetHealth()
        let key = TargetKey(route: "r", node: "n", target: ModelTarget("openai/m")!, breaker: nil, maxConcurrency: 2)
        #expect(health.admit(key, now: 0) == .allowed)
        #expect(health.admit(key, now: 0) == .allowed)
        #expect(health.admit(key, now: 0) == .full(limit: 2))
        health.finished(key, report: .served, now: 0)
        #expect(health.admit(key, now: 0) == .allowed)
        health.finished(key, report: .abandoned, now: 0)
        health.finished(key, report: .failed(UpstreamFailure(.status(500))), now: 0)
        #expect(health.admit(key, now: 0) == .allowed)
    }
}
