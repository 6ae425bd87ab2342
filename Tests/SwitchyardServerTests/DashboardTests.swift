import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import SwitchyardStorage
import Testing

@testable import SwitchyardServer

/// `/dashboard` and the admin endpoints it reads: `/admin/stats`, `/admin/routes/{name}`, `/admin/limits`.
@Suite struct DashboardTests {
    static let admin: HTTPFields = [.authorization: "Bearer admin-secret-token"]

    @Test func servesTheEmbeddedPagesWithAStrictPolicy() async throws {
        try await ControlsHarness.run(extra: "admin: { token: admin-secret-token }") { client, _ async throws in
            let page = try await client.execute(uri: "/dashboard", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(String(buffer: page.body).contains("<script src=\"/dashboard/app.js\"></script>"))
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"))
            #expect(try await client.execute(uri: "/dashboard/", method: .get).status == .ok)
            let script = try await client.execute(uri: "/dashboard/app.js", method: .get)
            #expect(script.status == .ok && script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(try await client.execute(uri: "/dashboard/app.css", method: .get).headers[.contentType] == "text/css; charset=utf-8")
            let missing = try await client.execute(uri: "/dashboard/../admin/logs", method: .get)
            #expect(missing.status == .notFound)
            #expect(try await client.execute(uri: "/dashboard/nope.js", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/dashboard", method: .post).status == .methodNotAllowed)
            // The page holds no data: with a token set it loads for anyone, and the API it calls still needs the token.
            #expect(try await client.execute(uri: "/admin/stats", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/admin/limits", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/admin/stats", method: .get, headers: Self.admin).status == .ok)
        }
    }

    /// The binary serves what `dashboard/` holds: `scripts/embed-dashboard.py` was run after the last edit.
    @Test func embeddedAssetsMatchTheFilesInTheRepository() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("dashboard")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(names == DashboardAssets.files.keys.sorted(), "run scripts/embed-dashboard.py")
        for name in names {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            #expect(DashboardAssets.files[name]?.text == text, "\(name) differs from its embedded copy: run scripts/embed-dashboard.py")
        }
    }

    @Test func dashboardFollowsTheAdminNetworkRule() throws {
        let settings = SettingsStore(GatewaySettings(configuration: GatewayConfiguration(), environment: [:]))
        let controls = GatewayControls(settings: settings, store: nil, registry: .init(), routeNames: { [] }, logger: .init(label: "t"), now: { 0 })
        let request = Request(head: .init(method: .get, scheme: "http", authority: "x", path: "/dashboard"), body: .init(buffer: ByteBuffer()))
        #expect(throws: GatewayError.self) { try DashboardAssets.respond(request, asset: "", controls: controls, peerIsLocal: false) }
        do {
            _ = try DashboardAssets.respond(request, asset: "", controls: controls, peerIsLocal: false)
        } catch {
            #expect(error.status == 403 && error.message.contains("admin.token"))
        }
        #expect(try DashboardAssets.respond(request, asset: "", controls: controls, peerIsLocal: true).status == .ok)
    }

    @Test func statsAgreeWithTheRequestLog() async throws {
        try await ControlsHarness.run(extra: "admin: { token: admin-secret-token }\ngateways: { default: { cache: { ttl: 1h } } }") { client, h async throws in
            let start = h.clock.now
            #expect(try await client.chat(text: "one").status == .ok)
            #expect(try await client.chat(text: "one").status == .ok)  // a cache hit
            h.clock.advance(120)
            #expect(try await client.chat("anthropic/claude-sonnet-4-5", text: "two").status == .ok)
            #expect(try await client.chat("nosuchprovider/x", text: "bad").status != .ok)
            for _ in 0..<200 {
                if try await h.store.query(RequestLogQuery()).total >= 4 { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let records = try await h.allRecords()
            #expect(records.count == 4)

            let response = try await client.execute(uri: "/admin/stats?since=\(Int(start) - 30)&bucket=1m", method: .get, headers: Self.admin)
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let result = try #require(response.json["result"])
            let totals = try #require(result["totals"])
            #expect(totals["requests"]?.numberValue == 4)
            #expect(totals["errors"]?.numberValue == Double(records.filter { !$0.success }.count))
            #expect(totals["cached"]?.numberValue == 1)
            #expect(totals["cache_hit_rate"]?.numberValue == 0.25)
            #expect(totals["tokens_in"]?.numberValue == Double(records.reduce(0) { $0 + $1.tokensIn }))
            #expect(totals["tokens_out"]?.numberValue == Double(records.reduce(0) { $0 + $1.tokensOut }))
            let cost = records.reduce(0.0) { $0 + $1.cost }
            #expect(abs((totals["cost"]?.numberValue ?? -1) - cost) < 1e-12)
            let durations = records.map(\.durationMs).sorted()
            #expect(totals["p50_ms"]?.numberValue == durations[1])
            #expect(totals["p99_ms"]?.numberValue == durations[3])
            let buckets = try #require(result["buckets"]?.arrayValue)
            #expect(result["bucket_seconds"]?.numberValue == 60)
            #expect(buckets.count == 4)
            #expect(buckets.compactMap { $0["requests"]?.numberValue } == [0, 2, 0, 2] || buckets.compactMap { $0["requests"]?.numberValue } == [2, 0, 2, 0])
            #expect(buckets.compactMap { $0["requests"]?.numberValue }.reduce(0, +) == 4)
            let models = try #require(result["models"]?.arrayValue)
            #expect(models.first?["name"]?.stringValue == "gpt-5-mini" && models.first?["requests"]?.numberValue == 2)
            #expect(result["truncated"] == .bool(false))

            // A default bucket keeps the chart near 60 points.
            let hour = try await client.execute(uri: "/admin/stats?since=1h", method: .get, headers: Self.admin)
            #expect(hour.json["result"]?["bucket_seconds"]?.numberValue == 60)
            for bad in ["since=yesterday", "bucket=0s", "since=30d&bucket=1s", "bucket=\(String(repeating: "9", count: 40))s", "since=-5m"] {
                let r = try await client.execute(uri: "/admin/stats?" + bad, method: .get, headers: Self.admin)
                #expect(r.status == .badRequest, "\(bad): \(String(buffer: r.body))")
                #expect(r.json["internalCode"]?.numberValue == 2043 || r.json["errors"] != nil)
            }
            #expect(try await client.execute(uri: "/admin/stats", method: .post, headers: Self.admin).status == .methodNotAllowed)
        }
    }

    static let routed = """
        description: budget first, then a fallback chain
        nodes:
          gate:
            rate: { limit: 3, per: 1m, key: metadata.user, technique: fixed }
            then: spend
            exceeded: deny
          spend:
            budget: { limit: 5, per: 1d }
            then: first
          first:
            model: openai/m-first
            retries: 1
            fallback: second
          second:
            model: openai/m-second
          deny:
            reject: { status: 429 }
        """

    @Test func routeGraphAndLimitsShowCompiledNodesAndLiveUse() async throws {
        try await RouteFixture.run(routes: ["live.yaml": Self.routed], extraYAML: "gateways: { default: { rate_limit: { limit: 100, per: 1m } } }") { f, client in
            for user in ["u1", "u1", "u2"] {
                let r = try await client.post("/compat/chat/completions", json: chat("dynamic/live"), headers: headers([("cf-aig-metadata", #"{"user":"\#(user)"}"#)]))
                #expect(r.status == .ok, "\(r.text)")
            }
            let graph = try await client.execute(uri: "/admin/routes/live", method: .get)
            #expect(graph.status == .ok, "\(String(buffer: graph.body))")
            let g = try #require(graph.json["result"])
            #expect(g["name"]?.stringValue == "live" && g["current"] == .bool(true))
            #expect(g["description"]?.stringValue == "budget first, then a fallback chain")
            let nodes = try #require(g["nodes"]?.arrayValue)
            // `reject` is the compiler's implicit end of the budget's `exceeded`.
            #expect(nodes.compactMap { $0["name"]?.stringValue }.sorted() == ["deny", "first", "gate", "reject", "second", "spend"])
            let first = try #require(nodes.first { $0["name"]?.stringValue == "first" })
            #expect(first["kind"]?.stringValue == "model")
            #expect(first["detail"]?.stringValue == "openai/m-first, retries 1")
            let edges = try #require(first["edges"]?.arrayValue)
            #expect(edges.count == 1 && edges[0]["label"]?.stringValue == "fallback")
            let second = try #require(nodes.firstIndex { $0["name"]?.stringValue == "second" })
            #expect(edges[0]["target"]?.numberValue == Double(second))
            #expect(first["line"]?.numberValue == 10)
            let gate = try #require(nodes.first { $0["name"]?.stringValue == "gate" })
            #expect(gate["edges"]?.arrayValue?.compactMap { $0["label"]?.stringValue } == ["then", "exceeded"])
            #expect(nodes.firstIndex { $0["name"]?.stringValue == "gate" }.map(Double.init) == g["start"]?.numberValue)
            #expect(g["mermaid"]?.stringValue?.hasPrefix("flowchart TD") == true)
            let version = try #require(g["version"]?.stringValue)
            #expect(try await client.execute(uri: "/admin/routes/live?version=\(version)", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/admin/routes/live?version=nope", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/admin/routes/nosuch", method: .get).status == .notFound)

            let limits = try await client.execute(uri: "/admin/limits", method: .get)
            #expect(limits.status == .ok)
            let items = try #require(limits.json["result"]?["limits"]?.arrayValue)
            let gateway = try #require(items.first { $0["scope"]?.stringValue == "gateway" })
            #expect(gateway["limit"]?.numberValue == 100 && gateway["keys"]?.arrayValue?.first?["used"]?.numberValue == 3)
            let rate = try #require(items.first { $0["node"]?.stringValue == "gate" })
            #expect(rate["route"]?.stringValue == "live" && rate["key"]?.stringValue == "metadata.user" && rate["window"]?.stringValue == "1m")
            let keys = try #require(rate["keys"]?.arrayValue)
            #expect(keys.compactMap { $0["key"]?.stringValue } == ["u1", "u2"])
            #expect(keys.compactMap { $0["used"]?.numberValue } == [2, 1])
            #expect(keys.compactMap { $0["remaining"]?.numberValue } == [1, 2])
            let budget = try #require(items.first { $0["node"]?.stringValue == "spend" })
            #expect(budget["kind"]?.stringValue == "budget" && budget["limit"]?.numberValue == 5)
            #expect(budget["window"]?.stringValue == "1d" && budget["key"] == .null)
            _ = f
        }
    }
}
