import Foundation
import SwitchyardTestSupport
import Testing
@testable import SwitchyardCore

/// `pick:` nodes: the DSL, the live figures (injected clock, seeded draws) and the walk.
@Suite struct PickTests {
    static let route = """
        nodes:
          fastest:
            pick: [fast, slow]
            by: latency
            window: 1m
            explore: 10%
          fast:
            model: openai/gpt-5-mini
          slow:
            model: anthropic/claude-sonnet-4-5
        """

    static func graph(_ yaml: String = route) throws -> RouteGraph {
        let c = compile(yaml)
        #expect(c.diagnostics.isEmpty, "\(diagnosticsText(c))")
        return try #require(c.graph)
    }

    @Test func compilesWithItsSettingsAndDefaults() throws {
        let g = try Self.graph()
        guard case .pick(let p) = g.nodes[g.start].kind else { Issue.record("not a pick"); return }
        #expect(p.spec == PickSpec(by: .latency, window: 60, explore: 0.1))
        #expect(p.arms.map { g.nodes[$0].name } == ["fast", "slow"])
        #expect(p.key == PickKey(route: "test", node: "fastest", arms: ["fast", "slow"], spec: p.spec))
        #expect(RouteGraphRenderer.detail(of: g.nodes[g.start]) == "pick by latency (window 1m, explore 10%)")

        let defaults = try Self.graph("nodes:\n  p:\n    pick: [openai/gpt-5-mini, anthropic/claude-sonnet-4-5]\n")
        guard case .pick(let d) = defaults.nodes[defaults.start].kind else { Issue.record("not a pick"); return }
        #expect(d.spec == PickSpec(by: .latency, window: 300, explore: 0.05))
        #expect(d.arms.map { defaults.nodes[$0].name } == ["openai/gpt-5-mini", "anthropic/claude-sonnet-4-5"])
        #expect(RouteGraphRenderer.mermaid(defaults).contains("-->|arm 2|"))
    }

    /// The issue's scenario: one arm answers in 2 s, the other in 0.2 s. Once each has a figure,
    /// the fast one takes everything but the exploration share, split evenly over the arms.
    @Test func latencyMovesTrafficToTheFastArmAndExplorationHolds() throws {
        let g = try Self.graph()
        let stats = PickStats()
        let clock = ManualClock(10_000)
        var rng = SplitMix64(seed: 7)
        var counts = [0, 0]
        let n = 4000
        for i in 0..<n {
            var run = RouteRun(graph: g, pickStats: stats)
            guard case .attempt(let a) = run.start(facts: RequestFacts(), limits: InMemoryLimitStore(), now: clock.now, rng: &rng) else {
                Issue.record("no attempt")
                return
            }
            let choice = try #require(run.picks.first)
            if i >= 20 { counts[choice.arm] += 1 }
            let latency = a.nodeName == "fast" ? 0.2 : 2.0
            stats.record(choice, outcome: PickOutcome(step: a.step, success: true, duration: latency, timeToFirstByte: latency / 4, cost: 0), now: clock.now + latency)
            clock.advance(0.05)  // 20 requests a second: the 1 m window holds ~1200
        }
        let measured = Double(n - 20)
        let fastShare = Double(counts[0]) / measured
        #expect(fastShare >= 0.9, "fast arm share \(fastShare)")
        // Exploration: 10% drawn uniformly over 2 arms, so the slow arm keeps about 5%.
        let slowShare = Double(counts[1]) / measured
        #expect(slowShare > 0.035 && slowShare < 0.065, "slow arm share \(slowShare)")
    }

    @Test func whenTheFastArmSlowsDownTrafficMovesBackWithinTheWindow() throws {
        let g = try Self.graph()
        let stats = PickStats()
        let clock = ManualClock(0)
        var rng = SplitMix64(seed: 3)
        func send(_ latency: (String) -> Double) -> String {
            var run = RouteRun(graph: g, pickStats: stats)
            guard case .attempt(let a) = run.start(facts: RequestFacts(), limits: InMemoryLimitStore(), now: clock.now, rng: &rng) else { return "" }
            let d = latency(a.nodeName)
            stats.record(run.picks[0], outcome: PickOutcome(step: a.step, success: true, duration: d, timeToFirstByte: nil, cost: 0), now: clock.now + d)
            clock.advance(0.1)
            return a.nodeName
        }
        for _ in 0..<600 { _ = send { $0 == "fast" ? 0.2 : 1.0 } }
        // "fast" degrades to 3 s: within one window (60 s = 600 requests) most traffic is on "slow".
        var lastHundred: [String] = []
        for i in 0..<600 {
            let arm = send { $0 == "fast" ? 3.0 : 1.0 }
            if i >= 500 { lastHundred.append(arm) }
        }
        let slow = lastHundred.filter { $0 == "slow" }.count
        #expect(slow >= 90, "\(slow) of the last 100 on the arm that is now faster")
    }

    @Test func failingArmsRankLastAndErrorsPickTheHealthiest() throws {
        let stats = PickStats()
        let spec = PickSpec(by: .latency, window: 60, explore: 0)
        let key = PickKey(route: "r", node: "p", arms: ["a", "b"], spec: spec)
        // "a" is fast when it answers, but fails 3 requests in 4.
        for i in 0..<40 {
            stats.record(PickChoice(key: key, arm: 0, step: 0), outcome: PickOutcome(step: 0, success: i % 4 == 0, duration: 0.1, timeToFirstByte: nil, cost: 0), now: 100)
            stats.record(PickChoice(key: key, arm: 1, step: 0), outcome: PickOutcome(step: 0, success: true, duration: 1, timeToFirstByte: nil, cost: 0), now: 100)
        }
        var rng = SplitMix64(seed: 1)
        #expect(stats.choose(key, now: 101, rng: &rng).arm == 1)
        let figures = stats.figures(key, now: 101)
        #expect(figures[0].errorRate == 0.75)
        #expect(figures[1].value == 1)

        let errorsKey = PickKey(route: "r", node: "p", arms: ["a", "b"], spec: PickSpec(by: .errors, window: 60, explore: 0))
        for i in 0..<20 {
            stats.record(PickChoice(key: errorsKey, arm: 0, step: 0), outcome: PickOutcome(step: 0, success: i % 5 != 0, duration: 1, timeToFirstByte: nil, cost: 0), now: 100)
            stats.record(PickChoice(key: errorsKey, arm: 1, step: 0), outcome: PickOutcome(step: 0, success: i % 10 != 0, duration: 1, timeToFirstByte: nil, cost: 0), now: 100)
        }
        #expect(stats.choose(errorsKey, now: 101, rng: &rng).arm == 1)
    }

    @Test func onlyTheArmsOwnAttemptCounts() {
        let stats = PickStats()
        let key = PickKey(route: "r", node: "p", arms: ["a", "b"], spec: PickSpec(by: .cost, window: 60, explore: 0))
        let choice = PickChoice(key: key, arm: 0, step: 0)
        // Rejected before any attempt: nothing learnt.
        stats.record(choice, outcome: PickOutcome(step: nil, success: false, duration: 0.01, timeToFirstByte: nil, cost: 0), now: 1)
        #expect(stats.figures(key, now: 1)[0].errorRate == nil)
        // The arm's model failed and a fallback (step 1) answered: an error for the arm, no cost sample.
        stats.record(choice, outcome: PickOutcome(step: 1, success: true, duration: 2, timeToFirstByte: nil, cost: 0.5), now: 1)
        #expect(stats.figures(key, now: 1)[0].errorRate == 1)
        #expect(stats.figures(key, now: 1)[0].value == nil)
        stats.record(choice, outcome: PickOutcome(step: 0, success: true, duration: 2, timeToFirstByte: nil, cost: 0.002), now: 1)
        #expect(stats.figures(key, now: 1)[0].errorRate == 0.5)
        #expect(stats.figures(key, now: 1)[0].value == 0.002)
        // Unmeasured once its samples are many windows old.
        #expect(stats.figures(key, now: 1 + 60 * 5)[0].errorRate == nil)
    }

    @Test func explainShowsTheFiguresItUsed() throws {
        let g = try Self.graph(Self.route.replacingOccurrences(of: "explore: 10%", with: "explore: 0%"))
        let stats = PickStats()
        guard case .pick(let p) = g.nodes[g.start].kind else { return }
        for _ in 0..<10 {
            stats.record(PickChoice(key: p.key, arm: 0, step: 0), outcome: PickOutcome(step: 0, success: true, duration: 0.25, timeToFirstByte: nil, cost: 0), now: 50)
            stats.record(PickChoice(key: p.key, arm: 1, step: 0), outcome: PickOutcome(step: 0, success: true, duration: 1.5, timeToFirstByte: nil, cost: 0), now: 50)
        }
        let text = RouteExplanation.render(graph: g, facts: RequestFacts(), seed: 2, now: 50, pickStats: stats)
        #expect(text.contains("fastest: pick by latency, lowest latency → arm 1 → fast"), "\(text)")
        #expect(text.contains("arm 1 fast: latency 0.250s, errors 0.0% over 10.0 recent samples"), "\(text)")
        #expect(text.contains("arm 2 slow: latency 1.500s, errors 0.0% over 10.0 recent samples"), "\(text)")
        let cold = RouteExplanation.render(graph: g, facts: RequestFacts(), seed: 2, now: 50)
        #expect(cold.contains("arm 1 fast: unmeasured"), "\(cold)")
    }

    @Test func figuresSurviveAReloadThatKeepsTheNodeAndResetWhenItChanges() throws {
        let g = try Self.graph()
        let stats = PickStats()
        guard case .pick(let p) = g.nodes[g.start].kind else { return }
        stats.record(PickChoice(key: p.key, arm: 0, step: 0), outcome: PickOutcome(step: 0, success: true, duration: 1, timeToFirstByte: nil, cost: 0), now: 0)
        stats.retain(PickStats.keys(of: [g]))
        #expect(stats.figures(p.key, now: 0)[0].value == 1)
        let changed = try Self.graph(Self.route.replacingOccurrences(of: "window: 1m", with: "window: 2m"))
        stats.retain(PickStats.keys(of: [changed]))
        #expect(stats.figures(p.key, now: 0)[0].value == nil)
    }
}
