import Foundation
import Testing
@testable import SwitchyardCore

@Suite struct FailureMatcherTests {
    @Test func itemsParseEveryWrittenForm() {
        #expect(FailureMatcher.Item("4xx") == .statusClass(4))
        #expect(FailureMatcher.Item("5xx") == .statusClass(5))
        #expect(FailureMatcher.Item("429") == .status(429))
        #expect(FailureMatcher.Item("timeout") == .timeout)
        #expect(FailureMatcher.Item("connect") == .connect)
        #expect(FailureMatcher.Item("context_length") == .reason(.contextLength))
        #expect(FailureMatcher.Item("content_filter") == .reason(.contentFilter))
        #expect(FailureMatcher.Item("any") == .any)
        for bad in ["302", "600", "4XX", "0429", "timout", "", "3xx"] { #expect(FailureMatcher.Item(bad) == nil, "\(bad)") }
    }

    @Test func matchingByStatusClassAndReason() {
        let m = FailureMatcher([.statusClass(4), .timeout])
        #expect(m.matches(UpstreamFailure(.status(401))))
        #expect(m.matches(UpstreamFailure(.status(400), reason: .contextLength)))
        #expect(!m.matches(UpstreamFailure(.status(503))))
        #expect(m.matches(UpstreamFailure(.timeout)))
        #expect(!m.matches(UpstreamFailure(.connection)))

        let reasons = FailureMatcher([.reason(.contextLength)])
        #expect(reasons.matches(UpstreamFailure(.status(400), reason: .contextLength)))
        #expect(!reasons.matches(UpstreamFailure(.status(400))))
        #expect(!reasons.matches(UpstreamFailure(.status(400), reason: .contentFilter)))
        #expect(FailureMatcher([.any]).matches(UpstreamFailure(.connection)))
        #expect(!FailureMatcher.never.matches(UpstreamFailure(.status(500))))
    }

    /// The defaults are what `RetryPolicy.isRetryable` said before the lists existed.
    @Test func defaultsKeepTheEarlierBehaviour() {
        let failures: [RetryPolicy.Failure] = [.connection, .timeout] + (400...599).map { .status($0) }
        for f in failures {
            #expect(FailureMatcher.defaultRetry.matches(UpstreamFailure(f)) == RetryPolicy.isRetryable(f), "\(f)")
            #expect(FailureMatcher.defaultFallback.matches(UpstreamFailure(f, reason: .contextLength)) == RetryPolicy.isRetryable(f), "\(f)")
        }
        #expect(FailureMatcher.defaultRetry.description == "timeout, connect, 408, 429, 5xx")
    }

    @Test func classifiesEachProvidersErrorBody() throws {
        func reason(_ status: Int, _ json: String) throws -> UpstreamErrorReason? {
            UpstreamErrorReason.classify(status: status, body: try JSONValue.parse(json))
        }
        // OpenAI
        #expect(try reason(400, #"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#) == .contextLength)
        // Azure prompt filter
        #expect(try reason(400, #"{"error":{"message":"filtered","type":null,"param":"prompt","code":"content_filter","innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#) == .contentFilter)
        #expect(try reason(400, #"{"error":{"message":"x","innererror":{"code":"ResponsibleAIPolicyViolation"}}}"#) == .contentFilter)
        // Anthropic
        #expect(try reason(400, #"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#) == .contextLength)
        #expect(try reason(400, #"{"type":"error","error":{"type":"invalid_request_error","message":"Output blocked by content filtering policy"}}"#) == .contentFilter)
        // Gemini
        #expect(try reason(400, #"{"error":{"code":400,"message":"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).","status":"INVALID_ARGUMENT"}}"#) == .contextLength)
        // vLLM / Mistral top level, Workers AI errors[]
        #expect(try reason(400, #"{"object":"error","message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","code":400}"#) == .contextLength)
        #expect(try reason(400, #"{"success":false,"errors":[{"code":5021,"message":"AiError: the input is too long for the model"}]}"#) == .contextLength)
        #expect(try reason(400, #"{"success":false,"errors":[{"code":5021,"message":"maximum context length exceeded"}]}"#) == .contextLength)
        // Plain errors and non-4xx statuses say nothing.
        #expect(try reason(400, #"{"error":{"message":"Invalid request.","type":"invalid_request_error","code":null}}"#) == nil)
        #expect(try reason(401, #"{"error":{"message":"Incorrect API key provided.","code":"invalid_api_key"}}"#) == nil)
        #expect(try reason(500, #"{"error":{"message":"context_length_exceeded","code":"context_length_exceeded"}}"#) == nil)
        #expect(UpstreamErrorReason.classify(status: 400, body: nil) == nil)
    }

    @Test func compilesTheListsAndDefaults() throws {
        let c = compile("""
            nodes:
              main:
                model: openai/gpt-5.2
                retries: 2
                retry_on: [429, 5xx, connect]
                fallback_on: [4xx, context_length, timeout]
                fallback: backup
              backup:
                model: openai/gpt-5-mini
                fallback_on: any
                fallback: last
              last:
                model: openai/gpt-5-nano
                retries: 1
                retry_on: []
            """)
        #expect(c.diagnostics.isEmpty, "\(diagnosticsText(c))")
        let g = try #require(c.graph)
        guard case .model(let main) = g.nodes[try #require(g.index("main"))].kind,
              case .model(let backup) = g.nodes[try #require(g.index("backup"))].kind,
              case .model(let last) = g.nodes[try #require(g.index("last"))].kind
        else { Issue.record("not models"); return }
        #expect(main.retryOn == FailureMatcher([.status(429), .statusClass(5), .connect]))
        #expect(main.fallbackOn == FailureMatcher([.statusClass(4), .reason(.contextLength), .timeout]))
        #expect(backup.retryOn == .defaultRetry)
        #expect(backup.fallbackOn == FailureMatcher([.any]))
        #expect(last.retryOn == .never)
        #expect(last.fallbackOn == .defaultFallback)

        // The attempt handed out carries the lists; a node without fallback never falls back.
        var run = RouteRun(graph: g)
        var rng = SplitMix64(seed: 1)
        let facts = RequestFacts(metadata: [:], headers: [:], body: .object([:]), model: "", gateway: "")
        guard case .attempt(let a) = run.start(facts: facts, limits: InMemoryLimitStore(), now: 0, rng: &rng) else { Issue.record("no attempt"); return }
        #expect(a.fallbackOn == main.fallbackOn && a.retryOn == main.retryOn)
        _ = run.fallback(facts: facts, limits: InMemoryLimitStore(), now: 0, rng: &rng)
        guard case .attempt(let l) = run.fallback(facts: facts, limits: InMemoryLimitStore(), now: 0, rng: &rng) else { Issue.record("no attempt"); return }
        #expect(l.nodeName == "last" && l.fallbackOn == .never)
    }

    @Test func explainAndGraphShowTheLists() throws {
        let c = compile("""
            nodes:
              main:
                model: openai/gpt-5.2
                retries: 1
                backoff: 1s
                retry_on: [5xx]
                fallback_on: [4xx, timeout]
                fallback: openai/gpt-5-mini
            """)
        let g = try #require(c.graph)
        let facts = RequestFacts(metadata: [:], headers: [:], body: .object([:]), model: "", gateway: "")
        let text = RouteExplanation.render(graph: g, facts: facts, seed: 1, now: 0)
        #expect(text.contains("1. openai/gpt-5.2 (node main): no timeout, 1 retry on 5xx (exponential backoff: 1s), falls back on 4xx, timeout"), "\(text)")
        #expect(text.contains("2. openai/gpt-5-mini (node openai/gpt-5-mini): no timeout, no retries\n"), "\(text)")
        let mermaid = RouteGraphRenderer.render(g, format: .mermaid)
        #expect(mermaid.contains("retry on 5xx, fallback on 4xx, timeout"), "\(mermaid)")
    }
}
