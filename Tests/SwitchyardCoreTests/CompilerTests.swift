import Foundation
import Testing
@testable import SwitchyardCore

@Suite struct CompilerTests {
    /// The YAML equivalent of routes/cloudflare-support.json.
    static let equivalentYAML = """
        name: cloudflare-support
        nodes:
          plan:
            if: metadata.plan == "paid"
            then: paid-budget
            else: free-limit
          paid-budget:
            budget: { limit: 50, per: 1d, key: metadata.org_id }
            then: claude
            exceeded: free-limit
          claude:
            model: anthropic/claude-sonnet-4-5
            timeout: 20s
            retries: 2
            fallback: gpt
          gpt:
            model: openai/gpt-5.2
            timeout: 60s
          free-limit:
            rate: { limit: 100, per: 1h, key: metadata.user_id, technique: sliding }
            then: ab
          ab:
            split:
              - 90%: llama
              - 10%: gpt-mini
          llama:
            model: workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast
            timeout: 60s
            fallback: gpt-mini
          gpt-mini:
            model: openai/gpt-5-mini
            timeout: 60s
        """

    @Test func cloudflareJSONCompilesToTheSameGraphAsYAML() throws {
        let json = try #require(RouteCompiler.compile(try Repo.source("routes/cloudflare-support.json")).graph)
        let yaml = try #require(compile(Self.equivalentYAML, path: "routes/cloudflare-support.yaml").graph)
        #expect(json.structure == yaml.structure)
        #expect(json.name == yaml.name)
    }

    @Test func cloudflareAPISpellingsAreAccepted() throws {
        let json = """
            {"name": "api-spelling", "elements": [
              {"id": "s", "type": "START", "outputs": {"next": {"elementId": "c"}}},
              {"id": "c", "type": "conditional", "properties": {"conditions": {"$or": [{"metadata.tier": {"$in": ["gold", "silver"]}}, {"headers.x-beta": "1"}]}},
               "outputs": {"true": {"elementId": "r"}, "false": {"elementId": "m2"}}},
              {"id": "r", "type": "rate", "properties": {"limitType": "count", "key": "metadata.user_id", "limit": 5, "window": 60},
               "outputs": {"success": {"elementId": "m1"}, "fallback": {"elementId": "e"}}},
              {"id": "m1", "type": "model", "properties": {"provider": "openai", "model": "gpt-5.2", "timeout": 0, "retries": 0},
               "outputs": {"success": {"elementId": "e"}, "fallback": {"elementId": "m2"}}},
              {"id": "m2", "type": "model", "properties": {"provider": "groq", "model": "llama-3.3-70b-versatile", "timeout": 5000, "retries": 1},
               "outputs": {"success": {"elementId": "e"}}},
              {"id": "e", "type": "end", "outputs": {}}
            ]}
            """
        let result = compile(json, path: "api.json")
        let g = try #require(result.graph, "\(diagnosticsText(result))")
        #expect(result.diagnostics.isEmpty)
        guard case .rateLimit(let r) = g.nodes[try #require(g.index("r"))].kind else { Issue.record("not a rate limit"); return }
        #expect(r.window == 60 && r.limit == 5)
        // A limit's fallback to `end` is the 429 rejection.
        guard case .reject(let reject) = g.nodes[r.exceeded].kind else { Issue.record("exceeded is not a reject"); return }
        #expect(reject.status == 429 && reject.message == nil)
        guard case .model(let m2) = g.nodes[try #require(g.index("m2"))].kind else { Issue.record("m2"); return }
        #expect(m2.timeout == 5 && m2.retries == 1 && m2.fallback == nil)
    }

    @Test func defaultsNameStartAndExceeded() throws {
        let g = try #require(compile("nodes:\n  a:\n    rate: { limit: 1, per: 1s }\n    then: b\n  b:\n    model: openai/gpt-5.2\n", path: "dir/my-route.yml").graph)
        #expect(g.name == "my-route")
        #expect(g.start == 0)
        guard case .rateLimit(let r) = g.nodes[0].kind else { Issue.record("rate"); return }
        #expect(r.technique == .sliding)
        #expect(g.nodes[r.exceeded].name == "reject")
        #expect(g.version == RouteCompiler.version(of: "nodes:\n  a:\n    rate: { limit: 1, per: 1s }\n    then: b\n  b:\n    model: openai/gpt-5.2\n"))
    }

    @Test func theGraphKnowsWhichBodyMembersItsRouteReads() throws {
        func reads(_ nodes: String) throws -> BodyReads {
            let result = compile("nodes:\n" + nodes + "  m:\n    model: openai/gpt-5.2\n")
            return try #require(result.graph, "\(diagnosticsText(result))").bodyReads
        }
        #expect(try reads("  c:\n    if: metadata.plan == \"paid\" && exists(headers.x-beta)\n    then: m\n    else: m\n") == .none)
        #expect(try reads("  c:\n    if: body.messages.length > 20 || body.temperature < 0.5\n    then: m\n    else: m\n") == .members(["messages", "temperature"]))
        #expect(try reads("  r:\n    rate: { limit: 5, per: 1m, key: body.user }\n    then: m\n") == .members(["user"]))
        #expect(try reads("  b:\n    budget: { limit: 5, per: 1d, key: body.team }\n    then: m\n") == .members(["team"]))
        #expect(try reads("  s:\n    split:\n      - 50%: m\n      - 50%: m\n    sticky: body.user\n") == .members(["user"]))
        #expect(try reads("  c:\n    if: not (body.length > 3)\n    then: m\n    else: m\n") == .whole)
        let cloudflare = try #require(RouteCompiler.compile(try Repo.source("routes/cloudflare-support.json")).graph)
        #expect(cloudflare.bodyReads == .none)
    }

    @Test func versionIsTheFirst12HexDigitsOfSHA256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        #expect(RouteCompiler.version(of: "abc") == "ba7816bf8f01")
    }

    @Test func inlineModelIdsBecomeSharedSyntheticNodes() throws {
        let g = try #require(compile("""
            nodes:
              ab:
                split:
                  - 50%: openai/gpt-5-mini
                  - 50%: main
              main:
                model: openai/gpt-5.2
                fallback: openai/gpt-5-mini
            """).graph)
        #expect(g.nodes.count == 3)
        #expect(g.nodes.filter { $0.name == "openai/gpt-5-mini" }.count == 1)
    }

    @Test func duplicateRouteNamesAcrossFiles() {
        let a = RouteSource(path: "routes/a.yaml", contents: "name: shared\nnodes:\n  m: { model: openai/gpt-5.2 }\n")
        let b = RouteSource(path: "routes/b.yaml", contents: "name: shared\nnodes:\n  m: { model: openai/gpt-5-mini }\n")
        let c = RouteSource(path: "routes/shared.yaml", contents: "nodes:\n  m: { model: openai/gpt-5-mini }\n")
        let result = RouteCompiler.compile([b, c, a])
        #expect(result.graphs.count == 1)
        #expect(result.graphs["shared"]?.sourcePath == "routes/a.yaml")
        #expect(result.diagnostics.map(\.description) == [
            "routes/b.yaml:1:7: error: duplicate route name 'shared': routes/a.yaml defines it too; rename one of them (the name defaults to the file name)",
            "routes/shared.yaml:1:1: error: duplicate route name 'shared': routes/a.yaml defines it too; rename one of them (the name defaults to the file name)",
        ])
        #expect(result.results["routes/b.yaml"]?.graph == nil)
    }

    @Test func oversizedFilesAreRefusedUnread() {
        let big = "nodes:\n  m: { model: openai/gpt-5.2 }\n" + String(repeating: "# padding\n", count: 120_000)
        let result = compile(big)
        #expect(result.graph == nil)
        #expect(diagnosticsText(result) == "test.yaml:1:1: error: the file is too large (1200038 bytes; the limit is 1048576); split it into several route files")
    }

    @Test func deepNestingIsRefusedBeforeParsing() {
        for doc in [
            "nodes: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000),
            "nodes: " + String(repeating: "{a: ", count: 50_000) + "1" + String(repeating: "}", count: 50_000),
            "nodes:\n" + String(repeating: "- ", count: 100_000) + "x\n",
            "nodes:\n" + (0..<300).map { String(repeating: " ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1\n",
        ] {
            let result = compile(doc)
            #expect(result.graph == nil)
            #expect(result.diagnostics.first?.message == "the document nests more than 64 levels deep", "\(result.diagnostics.first?.description ?? "")")
        }
    }

    @Test func aliasBombsStopAtTheNodeBudget() {
        var doc = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<9 { doc += "a\(i): &a\(i) [*a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1), *a\(i - 1)]\n" }
        doc += "nodes: *a8\n"
        let start = Date()
        let result = compile(doc)
        #expect(result.graph == nil)
        #expect(result.diagnostics.first?.message.contains("more than 200000 values") == true)
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func everyProblemOfAFileIsReported() {
        let result = compile("""
            nodes:
              a:
                model: opnai/gpt-5
                timeout: soon
                retries: 11
              b:
                split:
                  - 60%: a
                  - 30%: c
            """)
        #expect(result.diagnostics.filter { $0.severity == .error }.count == 4)
    }

    @Test func warningsDoNotBlockCompilation() throws {
        let result = compile("nodes:\n  a: { model: openai/gpt-5.2 }\n  b: { model: openai/gpt-5-mini }\n")
        #expect(result.graph != nil)
        #expect(!result.hasErrors)
        #expect(result.diagnostics.count == 1)
    }

    @Test func knownProvidersComeFromOptions() {
        var options = RouteCompilerOptions()
        options.knownProviders.insert("my-vllm")
        #expect(compile("nodes:\n  a: { model: my-vllm/qwen3 }\n", options: options).graph != nil)
        #expect(compile("nodes:\n  a: { model: my-vllm/qwen3 }\n").graph == nil)
    }

    @Test func suggestionsUseEditDistance() {
        #expect(NameSuggestion.nearest(to: "claud", in: ["claude", "gpt"]) == "claude")
        #expect(NameSuggestion.nearest(to: "gtp", in: ["claude", "gpt"]) == "gpt")
        #expect(NameSuggestion.nearest(to: "zzzzzz", in: ["claude", "gpt"]) == nil)
        #expect(NameSuggestion.distance("kitten", "sitting") == 3)
    }
}

@Suite struct YAMLFeatureTests {
    @Test func mergeKeysShareSettings() throws {
        let g = try #require(compile("""
            defaults: &defaults
              timeout: 20s
              retries: 3
            """.isEmpty ? "" : """
            nodes:
              a:
                <<: &defaults { timeout: 20s, retries: 3 }
                model: openai/gpt-5.2
                fallback: b
              b:
                <<: *defaults
                model: openai/gpt-5-mini
                retries: 1
            """).graph)
        guard case .model(let a) = g.nodes[0].kind, case .model(let b) = g.nodes[1].kind else { Issue.record("models"); return }
        #expect(a.timeout == 20 && a.retries == 3)
        #expect(b.timeout == 20 && b.retries == 1)
    }

    @Test func leadingBangNeedsQuotes() {
        let result = compile("nodes:\n  c:\n    if: !(metadata.plan == \"paid\")\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        #expect(result.graph == nil)
        #expect(result.diagnostics.first?.message.contains("as a tag") == true, "\(diagnosticsText(result))")
        let quoted = compile("nodes:\n  c:\n    if: '!(metadata.plan == \"paid\")'\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        #expect(quoted.graph != nil, "\(diagnosticsText(quoted))")
    }

    @Test func blockScalarExpressions() throws {
        let result = compile("nodes:\n  c:\n    if: >\n      metadata.plan == \"paid\"\n      and metadata.seats > 3\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        let g = try #require(result.graph, "\(diagnosticsText(result))")
        guard case .conditional(let c) = g.nodes[0].kind else { Issue.record("cond"); return }
        #expect(c.condition.evaluate(RequestFacts(metadata: ["plan": .string("paid"), "seats": .number(5)])))
    }
}

@Suite struct BoundsTests {
    @Test func hugeNumbersAreRefusedNotTrapped() throws {
        let result = compile("nodes:\n  l:\n    rate: { limit: 1e300, per: 99999999999999999999d }\n    then: m\n  m:\n    model: openai/gpt-5.2\n    timeout: 400d\n")
        #expect(result.diagnostics.map(\.message) == ["'99999999999999999999d' is too long: durations are at most 365d", "'400d' is too long: durations are at most 365d"])
        let cf = compile(#"{"elements": [{"id": "s", "type": "start", "outputs": {"next": {"elementId": "m"}}}, {"id": "m", "type": "model", "properties": {"provider": "openai", "model": "gpt-5.2", "timeout": 1e300}}]}"#, path: "x.json")
        #expect(cf.diagnostics.first?.message == "'1e+300ms' is too long: durations are at most 365d")
        let big = try #require(compile("nodes:\n  l:\n    rate: { limit: 1e300, per: 365d }\n    then: openai/gpt-5.2\n").graph)
        #expect(RouteGraphRenderer.dot(big).contains("rate 1e+300 per 365d"))
    }
}

@Suite struct ScaleTests {
    @Test func largeRoutesCompileQuickly() throws {
        // 5,000 nodes in a fallback chain, close to the largest files accepted.
        var text = "nodes:\n"
        for i in 0..<5_000 { text += "  n\(i):\n    model: openai/gpt-5-mini\n    fallback: \(i < 4_999 ? "n\(i + 1)" : "reject")\n" }
        let start = Date()
        let result = compile(text)
        #expect(result.graph?.nodes.count == 5_001)
        // 5,000 references to unknown nodes.
        let broken = text.replacingOccurrences(of: "fallback: n", with: "fallback: x")
        let b = compile(broken)
        #expect(b.diagnostics.filter { $0.message.hasPrefix("unknown node") }.count == 4_999)
        #expect(Date().timeIntervalSince(start) < 20)
    }
}

@Suite struct LineEndingTests {
    @Test func crlfAndByteOrderMarkKeepPositions() {
        let text = "\u{FEFF}nodes:\r\n  a:\r\n    if: |\r\n      metadata.x == \"a\"\r\n        and = 1\r\n    then: openai/gpt-5.2\r\n    else: openai/gpt-5-mini\r\n"
        let result = compile(text)
        #expect(result.diagnostics.map(\.description) == ["test.yaml:5:13: error: '=' is not an operator; use '==' to compare"])
    }
}
