import Foundation
import Testing
@testable import SwitchyardCore

@Suite struct ExampleRoutesTests {
    static let files = ["customer-support.yaml", "fallback-chain.yaml", "canary.yaml", "cloudflare-support.json", "long-context.yaml", "fastest.yaml", "shadow.yaml"]

    @Test(arguments: files)
    func compilesCleanly(_ file: String) throws {
        let result = RouteCompiler.compile(try Repo.source("routes/\(file)"))
        #expect(result.diagnostics.isEmpty, "\(diagnosticsText(result))")
        #expect(result.graph != nil)
    }

    @Test func customerSupportShape() throws {
        let graph = try #require(RouteCompiler.compile(try Repo.source("routes/customer-support.yaml")).graph)
        print(graph.structure)
        #expect(graph.name == "customer-support")
        #expect(graph.nodes[graph.start].name == "plan")
        #expect(graph.version.count == 12)
    }

    @Test func longContextReadsLiveState() throws {
        let graph = try #require(RouteCompiler.compile(try Repo.source("routes/long-context.yaml")).graph)
        let limits = InMemoryLimitStore()
        func model(_ tokens: Int, team: String) -> String? {
            let text = String(repeating: "a", count: tokens * 4)
            let facts = RequestFacts(metadata: ["team": .string(team)], body: .object(["messages": .array([.object(["content": .string(text)])])]))
            var run = RouteRun(graph: graph)
            var rng = SplitMix64(seed: 1)
            if case .attempt(let a) = run.start(facts: facts, limits: limits, now: 0, rng: &rng) { return a.target.model }
            return nil
        }
        #expect(model(100_001, team: "a") == "gemini-2.5-flash")
        #expect(model(10, team: "a") == "gpt-5-mini")
        _ = limits.reserve(LimitKey(route: graph.name, node: "team", keyValue: "b"), amount: 96, limit: 100, window: 86400, now: 0)
        #expect(model(10, team: "b") == "gpt-5-nano")
    }

    @Test func canaryCandidateHasABreaker() throws {
        let graph = try #require(RouteCompiler.compile(try Repo.source("routes/canary.yaml")).graph)
        guard case .model(let candidate)? = graph.node(named: "candidate")?.kind else { Issue.record("no candidate"); return }
        #expect(candidate.breaker == BreakerSpec(failures: 5, within: 30, cooldown: 60))
        #expect(candidate.maxConcurrency == 50)
    }

    @Test func fallbackChainMovesOnAfterARefusedKey() throws {
        let graph = try #require(RouteCompiler.compile(try Repo.source("routes/fallback-chain.yaml")).graph)
        guard case .model(let primary)? = graph.node(named: "primary")?.kind else { Issue.record("no primary"); return }
        #expect(primary.fallbackOn.matches(UpstreamFailure(.status(401))))
        #expect(primary.fallbackOn.matches(UpstreamFailure(.status(400), reason: .contextLength)))
        #expect(!primary.fallbackOn.matches(UpstreamFailure(.status(400))))
        #expect(!primary.retryOn.matches(UpstreamFailure(.timeout)))
    }
}
