import Testing
@testable import SwitchyardCore

/// What the limit-key suites share: a one-route graph compiled from YAML, a run started on it.
protocol RouteLimitTesting {}

extension RouteLimitTesting {
    func graph(_ yaml: String, name: String = "t") throws -> RouteGraph {
        let result = compile("name: \(name)\n" + yaml)
        return try #require(result.graph, "\(diagnosticsText(result))")
    }

    func run(_ g: RouteGraph, _ facts: RequestFacts, limits: any LimitStore, now: Double) -> RouteStep {
        var run = RouteRun(graph: g)
        var rng = SplitMix64(seed: 1)
        return run.start(facts: facts, limits: limits, now: now, rng: &rng)
    }

    static var keyedOnUser: String {
        """
        nodes:
          gate:
            rate: { limit: 1, per: 1m, key: body.user, technique: fixed }
            then: openai/gpt-5-mini
        """
    }
}
