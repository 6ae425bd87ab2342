import Foundation
import Testing
@testable import SwitchyardCore

/// The text `check`, `explain` and `graph` print (rendered by Core), and the built binary's exit codes.
@Suite struct CommandOutputTests {
    static func customerSupport() throws -> RouteGraph {
        try #require(RouteCompiler.compile(try Repo.source("routes/customer-support.yaml")).graph)
    }

    @Test func checkReportSummaries() {
        let ok = RouteCompiler.compile([RouteSource(path: "r/a.yaml", contents: "nodes:\n  a: { model: openai/gpt-5.2 }\n")])
        #expect(RouteCheckReport.render(results: ok.results, diagnostics: ok.diagnostics) == ("1 route OK\n", 0))

        let warn = RouteCompiler.compile([RouteSource(path: "r/a.yaml", contents: "nodes:\n  a: { model: openai/gpt-5.2 }\n  b: { model: openai/gpt-5.2 }\n")])
        let w = RouteCheckReport.render(results: warn.results, diagnostics: warn.diagnostics)
        #expect(w.status == 0)
        #expect(w.text.hasSuffix("r/a.yaml:3:3: warning: node 'b' is unreachable from the start node 'a'; link it from another node or remove it\n1 route OK, 1 warning\n"))

        let bad = RouteCompiler.compile([
            RouteSource(path: "r/a.yaml", contents: "nodes:\n  a: { model: openai/gpt-5.2, fallback: claud }\n  claude: { model: anthropic/claude-sonnet-4-5 }\n"),
            RouteSource(path: "r/b.yaml", contents: "nodes:\n  b: { model: openai/gpt-5.2 }\n"),
        ])
        let b = RouteCheckReport.render(results: bad.results, diagnostics: bad.diagnostics, loadFailures: ["r/c.yaml: error: the file is not UTF-8 text"])
        #expect(b.status == 1)
        #expect(b.text == """
            r/c.yaml: error: the file is not UTF-8 text
            r/a.yaml:2:41: error: unknown node 'claud'; did you mean 'claude'?
            2 errors, 0 warnings in 2 files; 1 route OK

            """)
    }

    @Test func explainPaidCustomerSupport() throws {
        let graph = try Self.customerSupport()
        let facts = SampleRequest.facts(route: graph.name, metadata: ["plan": SampleRequest.value("paid")], headers: [:], body: SampleRequest.defaultBody, model: nil)
        let text = RouteExplanation.render(graph: graph, facts: facts, seed: 1, now: 1_000_000)
        let body = text.components(separatedBy: "\npath:\n").last ?? ""
        #expect(body == """
              1. plan: if metadata.plan == "paid" → true → then paid-budget
                   metadata.plan = "paid"
              2. paid-budget: budget $50 per 1d, shared bucket: reserved $0.015420 → then claude
              3. claude: attempt 1: anthropic/claude-sonnet-4-5
              4. claude failed → fallback gpt
              5. gpt: attempt 2: openai/gpt-5.2
              6. gpt failed and has no fallback

            attempts (each runs only if the one before it fails):
              1. anthropic/claude-sonnet-4-5 (node claude): timeout 20s, 2 retries on timeout, connect, 408, 429, 5xx (exponential backoff: 250ms, 500ms), falls back on timeout, connect, 408, 429, 5xx
              2. openai/gpt-5.2 (node gpt): no timeout, no retries, set {"max_tokens":1024}
              then: the route ends with the last upstream error

            x-switchyard-path: plan>paid-budget>claude>gpt

            """)
        #expect(text.hasPrefix("route customer-support@\(graph.version) (routes/customer-support.yaml)\n"))
    }

    @Test func explainShowsSplitsLimitsAndRejections() throws {
        let graph = try Self.customerSupport()
        let limits = InMemoryLimitStore()
        let facts = RequestFacts(metadata: ["user_id": .string("u1")], model: "dynamic/customer-support")
        let text = RouteExplanation.render(graph: graph, facts: facts, seed: 3, now: 0, limits: limits)
        #expect(text.contains("2. free-limit: rate 100 per 1h, key \"u1\": allowed (99 left) → then ab"))
        #expect(text.contains("3. ab: split, sticky metadata.user_id = \"u1\" → position "))
        for _ in 0..<100 { _ = RouteExplanation.render(graph: graph, facts: facts, seed: 3, now: 1, limits: limits) }
        let limited = RouteExplanation.render(graph: graph, facts: facts, seed: 3, now: 2, limits: limits)
        #expect(limited.contains("free-limit: rate 100 per 1h, key \"u1\": exceeded (retry after "))
        #expect(limited.contains("none: rejected (rate limit) at 'free-limit': Route 'customer-support' rate limit 'free-limit' exceeded"))
        #expect(limited.hasSuffix("x-switchyard-path: plan>free-limit>reject\n"))
    }

    @Test func sampleRequestValues() {
        #expect(SampleRequest.value("paid") == .string("paid"))
        #expect(SampleRequest.value("3") == .number(3))
        #expect(SampleRequest.value("true") == .bool(true))
        #expect(SampleRequest.value("[1,\"a\"]") == .array([.number(1), .string("a")]))
        #expect(SampleRequest.assignment("a=b=c")! == ("a", "b=c"))
        #expect(SampleRequest.assignment("=x") == nil)
        let f = SampleRequest.facts(route: "r", metadata: [:], headers: [:], body: .object(["max_tokens": .number(50)]), model: nil)
        #expect(f.estimatedOutputTokens == 50 && f.model == "dynamic/r")
    }

    @Test func graphRenderings() throws {
        let graph = try Self.customerSupport()
        let mermaid = RouteGraphRenderer.mermaid(graph)
        #expect(mermaid.hasPrefix("flowchart TD\n"))
        #expect(mermaid.contains("  n0{\"plan<br/>if metadata.plan == #quot;paid#quot;\"}\n"))
        #expect(mermaid.contains("  n0 -->|then| n1\n  n0 -->|else| n4\n"))
        #expect(mermaid.contains("  n5 -->|90%| n6\n  n5 -->|10%| n7\n"))
        let dot = RouteGraphRenderer.dot(graph)
        #expect(dot.hasPrefix("digraph \"customer-support\" {\n"))
        #expect(dot.contains("  n2 -> n3 [label=\"fallback\", style=dashed];\n"))
        #expect(dot.contains("  n0 [shape=diamond, label=\"plan\\nif metadata.plan == \\\"paid\\\"\"];\n"))
        #expect(dot.hasSuffix("}\n"))
    }

    // MARK: The built binary

    /// `switchyard` sits next to the test resources in the products directory.
    static let binary: URL? = {
        let url = Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("switchyard")
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }()

    static func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = Repo.root
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test(.enabled(if: binary != nil, "the switchyard binary is built by `swift build --build-tests`"))
    func binaryCheckExitCodes() throws {
        let ok = try Self.run(["check"])
        #expect(ok.status == 0)
        // Other route files may join routes/; the example ones are clean.
        #expect(ok.out.hasSuffix(" routes OK\n") && !ok.out.contains("error:"))
        let examples = try Self.run(["check", "routes/customer-support.yaml", "routes/fallback-chain.yaml", "routes/canary.yaml", "routes/cloudflare-support.json"])
        #expect(examples.status == 0 && examples.out == "4 routes OK\n")

        let bad = try Self.run(["check", "Tests/SwitchyardCoreTests/Fixtures/diagnostics/unknown-target.yaml", "routes/canary.yaml"])
        #expect(bad.status == 1)
        #expect(bad.out == """
            Tests/SwitchyardCoreTests/Fixtures/diagnostics/unknown-target.yaml:4:15: error: unknown node 'gtp'; did you mean 'gpt'?
            Tests/SwitchyardCoreTests/Fixtures/diagnostics/unknown-target.yaml:7:15: error: unknown node 'claud'; did you mean 'claude'?
            2 errors, 0 warnings in 1 file; 1 route OK

            """)

        let missing = try Self.run(["check", "no-such-dir"])
        #expect(missing.status == 1)
        #expect(missing.out.contains("no-such-dir: error: no such file or directory"))
    }

    @Test(.enabled(if: binary != nil, "the switchyard binary is built by `swift build --build-tests`"))
    func binaryExplainAndGraph() throws {
        let explain = try Self.run(["explain", "customer-support", "--metadata", "plan=paid", "--seed", "5"])
        #expect(explain.status == 0)
        #expect(explain.out.contains("1. anthropic/claude-sonnet-4-5 (node claude): timeout 20s, 2 retries"))
        #expect(explain.out.contains("x-switchyard-path: plan>paid-budget>claude>gpt"))

        let graph = try Self.run(["graph", "dynamic/canary", "--format", "dot"])
        #expect(graph.status == 0 && graph.out.hasPrefix("digraph \"canary\" {"))

        let unknown = try Self.run(["graph", "custmer-support"])
        #expect(unknown.status == 1)
        #expect(unknown.err.contains("unknown route 'custmer-support' in routes; did you mean 'customer-support'?"))
    }

    /// `check`, `explain` and `graph` compile as `serve` does: the configuration's routes directory and custom providers.
    @Test(.enabled(if: binary != nil, "the switchyard binary is built by `swift build --build-tests`"))
    func checkExplainAndGraphReadTheConfiguration() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("own-routes"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "nodes:\n  m:\n    model: my-vllm/qwen-3\n".write(to: dir.appendingPathComponent("own-routes/local.yaml"), atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("switchyard.yaml").path
        try """
            routes: \(dir.appendingPathComponent("own-routes").path)
            providers:
              my-vllm: { kind: openai-compatible, base_url: "http://127.0.0.1:9/v1" }
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let checked = try Self.run(["check", "--config", config])
        #expect(checked.status == 0 && checked.out == "1 route OK\n", "\(checked.out)")
        let unconfigured = try Self.run(["check", dir.appendingPathComponent("own-routes").path])
        #expect(unconfigured.status == 1 && unconfigured.out.contains("my-vllm"), "without the configuration my-vllm is unknown")
        for command in ["graph", "explain"] {
            let withConfig = try Self.run([command, "local", "--config", config])
            #expect(withConfig.status == 0, "\(command): \(withConfig.err)")
            #expect(withConfig.out.contains("my-vllm/qwen-3"), "\(command)")
            // Without it the route is not in ./routes at all.
            let without = try Self.run([command, "local"])
            #expect(without.status == 1)
            #expect(without.err.contains("unknown route 'local' in routes"))
        }
    }
}
