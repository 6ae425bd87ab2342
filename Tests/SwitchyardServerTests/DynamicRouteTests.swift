import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import Testing

@testable import SwitchyardServer

/// `dynamic/<route>`: the front hands a route's attempts to the dispatcher, fallbacks included.
@Suite struct DynamicRouteTests {
    /// plan: metadata.plan == "paid" → primary (openai/flaky, falls back to backup) else reject.
    static func graph() -> RouteGraph {
        let nodes = [
            RouteNode(name: "plan", kind: .conditional(.init(condition: .compare(.path(ValuePath(root: .metadata, segments: [.key("plan")])), .equal, .literal(.string("paid"))), source: #"metadata.plan == "paid""#, then: 1, else: 3)), location: nil),
            RouteNode(name: "primary", kind: .model(.init(target: ModelTarget("openai/flaky")!, timeout: 5, retries: 0, backoff: Backoff(delay: 0, mode: .constant), set: ["max_tokens": .number(64)], fallback: 2)), location: nil),
            RouteNode(name: "backup", kind: .model(.init(target: ModelTarget("groq/llama")!, timeout: nil, retries: 0, backoff: Backoff(delay: 0, mode: .constant), set: [:], fallback: nil)), location: nil),
            RouteNode(name: "free", kind: .reject(.init(status: 403, message: "paid plans only")), location: nil),
        ]
        return RouteGraph(name: "support", description: nil, version: "v1", sourcePath: "routes/support.yaml", nodes: nodes, start: 0)
    }

    @Test func fallbackAfterAnUpstreamFailure() async throws {
        let upstream = try await FakeUpstream.start(FakeUpstreamConfiguration(perModel: ["flaky": FakeBehavior(status: 503)]))
        var configuration = try ConfigurationParser.parse("""
            providers:
              openai: { base_url: "\(upstream.openAIBaseURL)", keys: { default: sk-a } }
              groq: { base_url: "\(upstream.openAIBaseURL)", keys: { default: sk-b } }
            """, environment: [:])
        configuration.listen.port = 0
        let app = buildApplication(configuration: configuration, environment: [:], routes: RouteCatalog(graphs: [Self.graph()]))
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"model":"dynamic/support","messages":[{"role":"user","content":"hello"}]}"#)
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [HTTPField.Name("cf-aig-metadata")!: #"{"plan":"paid"}"#], body: body) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("cf-aig-step")!] == "1")
                #expect(response.headers[HTTPField.Name("cf-aig-provider")!] == "groq")
                #expect(response.headers[HTTPField.Name("cf-aig-model")!] == "llama")
                #expect(response.headers[HTTPField.Name("x-switchyard-route")!] == "support@v1")
                #expect(response.headers[HTTPField.Name("x-switchyard-path")!] == "plan>primary>backup")
            }
            let requests = upstream.requests()
            #expect(requests.map(\.model) == ["flaky", "llama"])
            // The route's `set:` applies to its own model only.
            #expect(requests[0].bodyText.contains(#""max_tokens":64"#))
            #expect(!requests[1].bodyText.contains("max_tokens"))
            #expect(requests[0].header("authorization") == "Bearer sk-a" && requests[1].header("authorization") == "Bearer sk-b")

            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [HTTPField.Name("cf-aig-metadata")!: #"{"plan":"free"}"#], body: body) { response in
                #expect(response.status == .forbidden)
                let e = try JSONValue.parse(Data(response.body.readableBytesView))
                #expect(e["internalCode"] == .number(2041))
                #expect(e["message"] == .string("paid plans only"))
                #expect(response.headers[HTTPField.Name("x-switchyard-path")!] == "plan>free")
            }
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [HTTPField.Name("cf-aig-metadata")!: "not json"], body: body) { response in
                #expect(response.status == .badRequest)
            }
            try await client.execute(uri: "/compat/models", method: .get) { response in
                #expect(String(buffer: response.body).contains(#""id":"dynamic/support""#))
            }
        }
        try await upstream.shutdown()
    }
}

extension DynamicRouteTests {
    @Test func routeFilesAreCompiledAtStartup() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-routes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
            nodes:
              primary:
                model: openai/flaky
                fallback: backup
              backup:
                model: my-vllm/qwen
            """.write(toFile: directory + "/support.yaml", atomically: true, encoding: .utf8)
        try "nodes:\n  a:\n    model: nope/x\n".write(toFile: directory + "/broken.yaml", atomically: true, encoding: .utf8)

        let upstream = try await FakeUpstream.start(FakeUpstreamConfiguration(perModel: ["flaky": FakeBehavior(status: 500)]))
        var configuration = try ConfigurationParser.parse("""
            providers:
              openai: { base_url: "\(upstream.openAIBaseURL)", keys: { default: sk-a } }
              my-vllm: { kind: openai-compatible, base_url: "\(upstream.openAIBaseURL)" }
            """, environment: [:])
        configuration.listen.port = 0
        let catalog = RouteLoading.load(directory: directory, configuration: configuration)
        #expect(catalog.names == ["support"])
        #expect(catalog.errors.count == 1 && catalog.errors[0].hasPrefix(directory + "/broken.yaml:3:12: error:"), "\(catalog.errors)")

        let app = buildApplication(configuration: configuration, environment: [:], routes: catalog)
        try await app.test(.router) { client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: ByteBuffer(string: #"{"model":"dynamic/support","messages":[{"role":"user","content":"hi"}]}"#)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("x-switchyard-path")!] == "primary>backup")
                #expect(response.headers[HTTPField.Name("cf-aig-provider")!] == "my-vllm")
            }
        }
        try await upstream.shutdown()
    }
}

extension DynamicRouteTests {
    @Test func budgetReservationIsSettledWithTheRealCost() async throws {
        let upstream = try await FakeUpstream.start()
        let pricing = ["openai/pricey": ModelPrice(input: 100_000, output: 100_000)]
        let source = RouteSource(path: "routes/metered.yaml", contents: """
            nodes:
              budget:
                budget: { limit: 50, per: 1d }
                then: answer
                exceeded: reject
              answer:
                model: openai/pricey
            """)
        let compiled = RouteCompiler.compile(source, options: RouteCompilerOptions(prices: PriceTable(overrides: pricing)))
        let graph = try #require(compiled.graph, "\(compiled.diagnostics)")
        var configuration = try ConfigurationParser.parse("""
            providers:
              openai: { base_url: "\(upstream.openAIBaseURL)", keys: { default: sk-a } }
            pricing:
              openai/pricey: { input: 100000, output: 100000 }
            """, environment: [:])
        configuration.listen.port = 0
        let limits = InMemoryLimitStore()
        let app = buildApplication(configuration: configuration, environment: [:], routes: RouteCatalog(graphs: [graph]), limits: limits, now: { 1_000_000 })
        let body = #"{"model":"dynamic/metered","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#
        let tokens = try await app.test(.router) { client -> Double in
            let tokens = try await client.execute(uri: "/compat/chat/completions", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
                return try JSONValue.parse(Data(response.body.readableBytesView))["usage"]?["total_tokens"]?.numberValue ?? 0
            }
            // The same question streamed: the same answer, its usage taken from the stream the gateway asked usage for.
            let streamed = body.replacingOccurrences(of: #""max_tokens""#, with: #""stream":true,"max_tokens""#)
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: ByteBuffer(string: streamed)) { response in
                #expect(response.status == .ok)
            }
            return tokens
        }
        #expect(tokens > 0)
        let usage = limits.budgetUsage(LimitKey(route: "metered", node: "budget", keyValue: ""), window: 86_400, now: 1_000_000)
        #expect(usage.reserved == 0)
        #expect(abs(usage.spent - 2 * tokens * 0.1) < 1e-9, "\(usage)")
        try await upstream.shutdown()
    }
}

extension DynamicRouteTests {
    @Test(.timeLimit(.minutes(1)))
    func routeFilesAreReloadedAndABrokenFileKeepsItsPreviousVersion() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-reload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        @Sendable func write(_ name: String, _ text: String) throws { try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8) }
        try write("support.yaml", "nodes:\n  only:\n    model: openai/model-a\n")

        let upstream = try await FakeUpstream.start()
        var configuration = try ConfigurationParser.parse("""
            routes: \(directory)
            providers:
              openai: { base_url: "\(upstream.openAIBaseURL)", keys: { default: sk-a } }
            """, environment: [:])
        configuration.listen.port = 0
        let table = RouteTable(RouteLoading.load(directory: directory, configuration: configuration))
        let app = buildApplication(configuration: configuration, environment: [:], routeTable: table, reloadRoutesEvery: .milliseconds(20))

        /// Waits (bounded) until the reload service has swapped in a new catalog.
        @Sendable func reloaded(after generation: Int) async throws {
            let deadline = ContinuousClock.now + .seconds(10)
            while table.generation <= generation, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(table.generation > generation)
        }

        try await app.test(.router) { client in
            func ask(_ route: String) async throws -> (HTTPResponse.Status, String?) {
                try await client.execute(uri: "/compat/chat/completions", method: .post, body: ByteBuffer(string: #"{"model":"dynamic/\#(route)","messages":[{"role":"user","content":"hi"}]}"#)) { response in
                    (response.status, response.headers[HTTPField.Name("cf-aig-model")!])
                }
            }
            #expect(try await ask("support") == (.ok, "model-a"))

            var generation = table.generation
            try write("support.yaml", "nodes:\n  only:\n    model: openai/model-bb\n")
            try await reloaded(after: generation)
            #expect(try await ask("support") == (.ok, "model-bb"))

            generation = table.generation
            try write("support.yaml", "nodes:\n  only:\n    model: nope/model-c\n")
            try write("billing.yaml", "nodes:\n  only:\n    model: openai/model-d\n")
            try await reloaded(after: generation)
            #expect(try await ask("support") == (.ok, "model-bb"))
            #expect(try await ask("billing") == (.ok, "model-d"))
            #expect(table.current.errors.contains { $0.hasPrefix(directory + "/support.yaml:3:12: error:") })
        }
        try await upstream.shutdown()
    }
}
