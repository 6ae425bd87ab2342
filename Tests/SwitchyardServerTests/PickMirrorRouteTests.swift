import Foundation
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import SwitchyardStorage
import SwitchyardTestSupport
import Testing

@testable import SwitchyardServer

/// `pick:` and `mirror:` through the real server against the fake upstream.
@Suite struct PickMirrorRouteTests {
    /// The issue's test: the fake answers one arm slowly; traffic moves to the fast arm and the
    /// exploration share keeps the slow one measured. Real latencies: in the heavy phase, alone
    /// (beside the parallel suites a quick answer can take as long as the slow one; the
    /// clock-injected version is `PickTests.latencyMovesTrafficToTheFastArmAndExplorationHolds`).
    @Test(.enabled(if: heavyTests)) func pickByLatencyMovesTrafficToTheFastArm() async throws {
        let routes = [
            "fastest.yaml": """
                nodes:
                  fastest:
                    pick: [quick, sluggish]
                    by: latency
                    explore: 10%
                  quick:
                    model: openai/m-quick
                  sluggish:
                    model: openai/m-sluggish
                """,
        ]
        // 800 ms against a few: far beyond what a loaded machine adds to the quick arm.
        let fake = FakeUpstreamConfiguration(perModel: ["m-sluggish": FakeBehavior(latencyMs: 800)])
        try await RouteFixture.run(routes: routes, fake: fake) { f, client in
            var models: [String] = []
            for _ in 0..<102 {
                let r = try await client.post("/compat/chat/completions", json: chat("dynamic/fastest"))
                #expect(r.status == .ok)
                models.append(r.header("cf-aig-model") ?? "?")
            }
            // The first requests measure both arms; then the quick one takes all but exploration.
            let after = models.dropFirst(2)
            let quick = after.filter { $0 == "m-quick" }.count
            let sluggish = after.filter { $0 == "m-sluggish" }.count
            #expect(quick >= 90, "\(quick) of 100 on the fast arm")
            #expect(sluggish >= 1 && sluggish <= 10, "exploration: \(sluggish) of 100 on the slow arm")
            #expect(quick + sluggish == 100)

            let r = try await client.execute(uri: "/admin/routes", method: .get)
            let doc = try JSONValue.parse(Data(r.body.readableBytesView))
            let pick = doc["routes"]?.arrayValue?.first { $0["name"]?.stringValue == "fastest" }?["picks"]?[0]
            #expect(pick?["node"]?.stringValue == "fastest" && pick?["by"]?.stringValue == "latency")
            let arms = pick?["arms"]?.arrayValue ?? []
            #expect(arms.map { $0["node"]?.stringValue } == ["quick", "sluggish"])
            let quickLatency = try #require(arms.first?["value"]?.numberValue)
            let sluggishLatency = try #require(arms.last?["value"]?.numberValue)
            #expect(sluggishLatency >= 0.8 && quickLatency < sluggishLatency, "\(quickLatency) vs \(sluggishLatency)")
            _ = f
        }
    }

    static let mirrorRoute = """
        nodes:
          main:
            model: openai/m-main
            mirror: { to: shadow, share: 100% }
          shadow:
            model: openai/m-shadow
            timeout: 30s
        """

    static func catalog(_ yaml: String = mirrorRoute) throws -> RouteCatalog {
        let graph = try #require(RouteCompiler.compile(RouteSource(path: "mirrored.yaml", contents: yaml)).graph)
        return RouteCatalog(graphs: [graph])
    }

    /// Polls the log (written in the background) for the mirror record of `id`.
    static func mirrorRecord(of id: String, in h: ControlsHarness) async throws -> RequestLogRecord? {
        for _ in 0..<400 {
            if let r = try await h.allRecords().first(where: { $0.metadata["mirror_of"] == .string(id) }) { return r }
            try await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }

    @Test func aMirrorCopyIsLoggedButNeverReturned() async throws {
        try await ControlsHarness.run(routes: try Self.catalog()) { client, h in
            let r = try await client.chat("dynamic/mirrored", text: "copy me", stream: true)
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-model") == "m-main")
            #expect(!String(buffer: r.body).contains("m-shadow"))
            let id = try #require(r.header("cf-aig-log-id"))
            let copy = try #require(try await Self.mirrorRecord(of: id, in: h))
            #expect(copy.model == "m-shadow" && copy.provider == "openai")
            #expect(copy.routePath == "main~mirror>shadow" && copy.route?.hasPrefix("mirrored@") == true)
            #expect(copy.statusCode == 200 && copy.success && copy.stream)
            #expect(copy.tokensOut > 0 && copy.responseSize > 0)
            #expect(copy.path == "mirror")
            // The upstream saw the same conversation, with the mirror's model.
            let seen = h.fake.requests().filter { $0.model == "m-shadow" }
            #expect(seen.count == 1)
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"switchyard_mirror_requests_total{result="ok",route="mirrored"} 1"#) || metrics.contains(#"switchyard_mirror_requests_total{route="mirrored",result="ok"} 1"#), "\(metrics.split(separator: "\n").filter { $0.contains("mirror") })")
        }
    }

    /// The client's own provider key authenticates its request, never the route's copy of it.
    @Test func aCopyNeverCarriesTheClientsOwnKey() async throws {
        try await ControlsHarness.run(routes: try Self.catalog()) { client, h in
            let r = try await client.chat("dynamic/mirrored", headers: [.authorization: "Bearer sk-client-own-key-0001"])
            #expect(r.status == .ok)
            let id = try #require(r.header("cf-aig-log-id"))
            _ = try #require(try await Self.mirrorRecord(of: id, in: h))
            let main = try #require(h.fake.requests().first { $0.model == "m-main" })
            let copy = try #require(h.fake.requests().first { $0.model == "m-shadow" })
            #expect(main.header("authorization") == "Bearer sk-client-own-key-0001")
            #expect(copy.header("authorization") == "Bearer sk-stored-openai-0001")
        }
    }

    @Test func aFailingMirrorLeavesTheAnswerAlone() async throws {
        let fake = FakeUpstreamConfiguration(perModel: ["m-shadow": FakeBehavior(status: 500)])
        try await ControlsHarness.run(routes: try Self.catalog(), fake: fake) { client, h in
            let r = try await client.chat("dynamic/mirrored")
            #expect(r.status == .ok)
            #expect(r.header("cf-aig-model") == "m-main")
            #expect(r.header("x-switchyard-path") == "main")
            let id = try #require(r.header("cf-aig-log-id"))
            let copy = try #require(try await Self.mirrorRecord(of: id, in: h))
            #expect(copy.statusCode == 500 && !copy.success)
            let own = try #require(try await h.allRecords().first { $0.id == id })
            #expect(own.statusCode == 200 && own.model == "m-main")
        }
    }

    /// A mirror that takes seconds to answer: the client already has its whole answer while the
    /// copy is still waiting at the upstream (it has arrived there, and no record of it exists yet).
    @Test func aSlowMirrorDoesNotDelayTheAnswer() async throws {
        let fake = FakeUpstreamConfiguration(perModel: ["m-shadow": FakeBehavior(latencyMs: 3000)])
        try await ControlsHarness.run(routes: try Self.catalog(), fake: fake) { client, h in
            let r = try await client.chat("dynamic/mirrored", text: "in a hurry")
            #expect(r.status == .ok)
            #expect(String(buffer: r.body).contains("in a hurry"))
            let id = try #require(r.header("cf-aig-log-id"))
            var arrived = false
            for _ in 0..<200 where !arrived {
                arrived = h.fake.requests().contains { $0.model == "m-shadow" }
                if !arrived { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(arrived)
            #expect(try await h.allRecords().contains { $0.metadata["mirror_of"] == .string(id) } == false)
        }
    }

    /// An adaptive split through the server: thumbs up (PATCH /admin/logs/{id}) for one arm's
    /// answers and down for the other's move the traffic, down to the other arm's floor.
    @Test func adaptiveSplitFollowsFeedback() async throws {
        let catalog = try Self.catalog("""
            nodes:
              ab:
                split:
                  - 50%: good
                  - 50%: poor
                adaptive: { window: 1d, min: 10% }
              good:
                model: openai/m-good
              poor:
                model: openai/m-poor
            """)
        try await ControlsHarness.run(routes: catalog, randomSeed: 42) { client, h in
            var served: [(id: String, model: String)] = []
            for i in 0..<40 {
                let r = try await client.chat("dynamic/mirrored", text: "rate me \(i)")
                served.append((try #require(r.header("cf-aig-log-id")), r.header("cf-aig-model") ?? "?"))
            }
            let before = served.filter { $0.model == "m-good" }.count
            #expect(before > 8 && before < 32, "written 50/50: \(before) of 40")
            for _ in 0..<400 where try await h.allRecords().count < 40 { try await Task.sleep(for: .milliseconds(10)) }
            for (id, model) in served {
                let verdict = model == "m-good" ? 1 : -1
                let r = try await client.execute(uri: "/admin/logs/\(id)", method: .patch, headers: [.contentType: "application/json"],
                                                 body: ByteBuffer(string: #"{"feedback": \#(verdict)}"#))
                #expect(r.status == .ok, "\(String(buffer: r.body))")
            }
            let doc = try JSONValue.parse(Data(try await client.execute(uri: "/admin/routes", method: .get).body.readableBytesView))
            let arms = doc["routes"]?.arrayValue?.first { $0["name"]?.stringValue == "mirrored" }?["adaptive_splits"]?[0]?["arms"]?.arrayValue ?? []
            #expect(arms.map { $0["node"]?.stringValue } == ["good", "poor"])
            #expect(arms.first?["share"]?.numberValue == 90 && arms.last?["share"]?.numberValue == 10, "\(arms)")
            var good = 0
            for i in 0..<200 {
                let r = try await client.chat("dynamic/mirrored", text: "after \(i)")
                if r.header("cf-aig-model") == "m-good" { good += 1 }
            }
            #expect(good >= 165 && good <= 195, "\(good) of 200 to the approved arm (90% expected, 10% floor)")
        }
    }
}
