import Foundation
import Testing
@testable import SwitchyardCore

@Suite struct LiveConditionTests {
    static let route = """
        name: live
        nodes:
          size:
            if: request.tokens > 1000
            then: long
            else: money
          money:
            if: budget.spend.remaining < 1 or rate.burst.remaining <= 2
            then: cheap
            else: burst
          burst:
            rate: { limit: 10, per: 1m, key: metadata.user }
            then: spend
          spend:
            budget: { limit: 5, per: 1d, key: metadata.user }
            then: openai/gpt-5.2
          long:
            model: google-ai-studio/gemini-2.5-flash
          cheap:
            model: openai/gpt-5-mini
        """

    static func facts(text: String, user: String = "u1") -> RequestFacts {
        RequestFacts(metadata: ["user": .string(user)], body: .object(["messages": .array([.object(["role": .string("user"), "content": .string(text)])])]),
                     estimatedInputTokens: 999_999)
    }

    func firstModel(_ g: RouteGraph, _ facts: RequestFacts, _ limits: InMemoryLimitStore, now: Double = 100) -> String? {
        var run = RouteRun(graph: g)
        var rng = SplitMix64(seed: 1)
        if case .attempt(let a) = run.start(facts: facts, limits: limits, now: now, rng: &rng) { return a.target.description }
        return nil
    }

    @Test func requestTokensCountsTheMessagesText() throws {
        let c = compile(Self.route)
        #expect(c.diagnostics.isEmpty, "\(diagnosticsText(c))")
        let g = try #require(c.graph)
        #expect(g.bodyReads == .members(["messages", "prompt", "input"]))
        let limits = InMemoryLimitStore()
        #expect(Self.facts(text: String(repeating: "a", count: 4004)).requestTokens == 1001)
        #expect(firstModel(g, Self.facts(text: String(repeating: "a", count: 4004)), limits) == "google-ai-studio/gemini-2.5-flash")
        #expect(firstModel(g, Self.facts(text: String(repeating: "a", count: 4000)), limits) == "openai/gpt-5.2")
        // Text parts count too; without the members read, the body-size estimate stands in.
        let parts = RequestFacts(body: .object(["messages": .array([.object(["content": .array([.object(["type": .string("text"), "text": .string("12345678")])])])])]))
        #expect(parts.requestTokens == 2)
        #expect(RequestFacts(estimatedInputTokens: 77).requestTokens == 77)
    }

    @Test func budgetAndRateRemainingReadTheLimitStoreForTheRequestsKey() throws {
        let g = try #require(compile(Self.route).graph)
        let limits = InMemoryLimitStore()
        let short = Self.facts(text: "hi")
        _ = limits.reserve(LimitKey(route: "live", node: "spend", keyValue: "u1"), amount: 4.5, limit: 5, window: 86400, now: 100)
        #expect(firstModel(g, short, limits) == "openai/gpt-5-mini", "u1 has $0.50 left")
        #expect(firstModel(g, Self.facts(text: "hi", user: "u2"), limits) == "openai/gpt-5.2", "u2 has its own budget")

        let text = RouteExplanation.render(graph: g, facts: short, seed: 1, now: 100, limits: limits)
        #expect(text.contains("budget.spend.remaining = 0.5"), "\(text)")
        #expect(text.contains("rate.burst.remaining = 10"), "\(text)")
        #expect(text.contains("request.tokens = 0"), "\(text)")

        // Seven of ten requests used: three remain, more than two → burst; eight used → cheap.
        let u3 = Self.facts(text: "hi", user: "u3")
        for _ in 0..<7 { _ = limits.consume(LimitKey(route: "live", node: "burst", keyValue: "u3"), cost: 1, limit: 10, window: 60, technique: .sliding, now: 120) }
        #expect(firstModel(g, u3, limits, now: 120) == "openai/gpt-5.2")  // this request counted: 8 used
        #expect(firstModel(g, u3, limits, now: 120) == "openai/gpt-5-mini")
    }

    @Test func liveReadsAreChecked() {
        let c = compile("""
            nodes:
              a:
                if: budget.spnd.used > 1 and rate.spend.remaining > 0
                then: spend
                else: openai/gpt-5-mini
              spend:
                budget: { limit: 5, per: 1d, key: metadata.org }
                then: openai/gpt-5.2
            """)
        #expect(diagnosticsText(c) == """
            test.yaml:2:3: error: node 'a' reads budget.spnd.used, but the route has no node 'spnd'; did you mean 'spend'?
            test.yaml:2:3: error: node 'a' reads rate.spend.remaining, but 'spend' is not a rate node; rate.<node> reads a rate node's counter
            """)
        let key = compile("nodes:\n  spend:\n    budget: { limit: 5, per: 1d, key: request.tokens }\n    then: openai/gpt-5.2\n")
        #expect(diagnosticsText(key) == #"test.yaml:3:39: error: 'key' cannot be request.tokens: a key comes from the request's metadata, headers or body; for example metadata.user_id or headers["x-user"]"#)
        let syntax = compile("""
            nodes:
              a:
                if: request.token > 5 or budget.spend.left < 1
                then: openai/gpt-5.2
                else: openai/gpt-5-mini
            """)
        #expect(diagnosticsText(syntax).contains("'request' has one field, 'tokens'"), "\(diagnosticsText(syntax))")
    }
}
