import Foundation
import SwitchyardTestSupport
import Testing
@testable import SwitchyardCore

/// `adaptive:` splits: weights that follow feedback, with a floor, decayed over time.
@Suite struct AdaptiveSplitTests {
    static let route = """
        nodes:
          ab:
            split:
              - 50%: a
              - 50%: b
            adaptive: { window: 1h, min: 10% }
          a:
            model: openai/gpt-5-mini
          b:
            model: anthropic/claude-haiku-4-5
        """

    static func graph() throws -> (RouteGraph, FeedbackKey) {
        let c = compile(route)
        #expect(c.diagnostics.isEmpty, "\(diagnosticsText(c))")
        let g = try #require(c.graph)
        guard case .split(let s) = g.nodes[g.start].kind, let key = s.feedbackKey else { throw CancellationError() }
        return (g, key)
    }

    func share(of arm: String, graph: RouteGraph, feedback: FeedbackStats, now: Double, n: Int = 20_000) -> Double {
        var rng = SplitMix64(seed: 11)
        var hits = 0
        for _ in 0..<n {
            var run = RouteRun(graph: graph, feedback: feedback)
            if case .attempt(let a) = run.start(facts: RequestFacts(), limits: InMemoryLimitStore(), now: now, rng: &rng), a.nodeName == arm { hits += 1 }
        }
        return Double(hits) / Double(n)
    }

    @Test func writtenWeightsUntilFeedbackThenTheyFollowIt() throws {
        let (g, key) = try Self.graph()
        #expect(key.arms == ["a", "b"] && key.adaptive == AdaptiveSplit(window: 3600, minimum: 0.1))
        #expect(RouteGraphRenderer.detail(of: g.nodes[g.start]) == "split, adaptive (window 1h, min 10%)")
        let feedback = FeedbackStats()
        #expect(abs(share(of: "b", graph: g, feedback: feedback, now: 0) - 0.5) < 0.02)
        // 40 thumbs up for b, 40 down for a: (41/42) vs (1/42) → b ≈ 97.6%, a raised to the 10% floor.
        for _ in 0..<40 {
            feedback.record(key, arm: 1, verdict: 1, now: 0)
            feedback.record(key, arm: 0, verdict: -1, now: 0)
        }
        let shares = feedback.shares(key, prior: [50, 50], now: 0)
        #expect(abs(shares[0] - 0.1) < 1e-9 && abs(shares[1] - 0.9) < 1e-9, "\(shares)")
        #expect(abs(share(of: "b", graph: g, feedback: feedback, now: 0) - 0.9) < 0.02)
        // Ten windows later the verdicts have faded: back near the written weights.
        #expect(abs(feedback.shares(key, prior: [50, 50], now: 36_000)[1] - 0.5) < 0.01)
    }

    @Test func aChangedVerdictReplacesTheFirst() throws {
        let (_, key) = try Self.graph()
        let feedback = FeedbackStats()
        feedback.record(key, arm: 0, verdict: 1, now: 0)
        feedback.record(key, arm: 0, verdict: -1, replacing: 1, now: 0)
        let counts = feedback.counts(key, now: 0)
        #expect(counts[0].positive == 0 && counts[0].negative == 1)
    }

    @Test func feedbackFindsTheArmOnTheLoggedPath() throws {
        let (g, key) = try Self.graph()
        let feedback = FeedbackStats()
        feedback.record(verdict: 1, replacing: nil, routePath: "ab>b", graph: g, now: 0)
        feedback.record(verdict: 1, replacing: nil, routePath: "ab>nowhere", graph: g, now: 0)
        #expect(feedback.counts(key, now: 0).map(\.positive) == [0, 1])
    }

    @Test func theFloorHoldsForEveryArm() {
        let out = FeedbackStats.floor([0.97, 0.02, 0.01], minimum: 0.05)
        #expect(abs(out.reduce(0, +) - 1) < 1e-9)
        #expect(out.allSatisfy { $0 >= 0.05 - 1e-9 }, "\(out)")
    }
}
