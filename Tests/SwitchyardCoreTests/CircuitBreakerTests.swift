import Foundation
import Synchronization
import SwitchyardTestSupport
import Testing
@testable import SwitchyardCore

@Suite struct CircuitBreakerTests {
    static let spec = BreakerSpec(failures: 3, within: 30, cooldown: 60)

    @Test func opensAfterNFailuresWithinTheWindow() {
        let clock = ManualClock(1000)
        var b = CircuitBreaker(spec: Self.spec)
        for _ in 0..<2 {
            #expect(b.admit(now: clock.now) == .allowed)
            b.recordFailure(now: clock.now)
            clock.advance(5)
        }
        #expect(b.state == .closed)
        #expect(b.recentFailures(at: clock.now) == 2)
        b.recordFailure(now: clock.now)
        #expect(b.state == .open(until: clock.now + 60))
        #expect(b.admit(now: clock.now + 59.9) == .refused(retryAt: clock.now + 60))
    }

    @Test func failuresSpreadBeyondTheWindowDoNotOpenIt() {
        let clock = ManualClock(0)
        var b = CircuitBreaker(spec: Self.spec)
        for _ in 0..<10 {
            b.recordFailure(now: clock.now)
            clock.advance(16)  // at most two failures in any 30 s
        }
        #expect(b.state == .closed)
        #expect(b.admit(now: clock.now) == .allowed)
    }

    @Test func halfOpensAfterCooldownWithOneProbeAndClosesOnSuccess() {
        let clock = ManualClock(0)
        var b = CircuitBreaker(spec: Self.spec)
        for _ in 0..<3 { b.recordFailure(now: clock.now) }
        clock.advance(60)
        #expect(b.state(at: clock.now) == .halfOpen(probeSince: nil))
        #expect(b.admit(now: clock.now) == .probe)
        // While the probe runs, others are refused.
        #expect(b.admit(now: clock.now + 1) == .refused(retryAt: clock.now + 60))
        b.recordSuccess(now: clock.now + 2)
        #expect(b.state == .closed)
        #expect(b.admit(now: clock.now + 3) == .allowed)
        // The failures before it opened are forgotten: it takes three new ones.
        b.recordFailure(now: clock.now + 4)
        b.recordFailure(now: clock.now + 4)
        #expect(b.state == .closed)
    }

    @Test func aFailedProbeReopensForAnotherCooldown() {
        let clock = ManualClock(0)
        var b = CircuitBreaker(spec: Self.spec)
        for _ in 0..<3 { b.recordFailure(now: clock.now) }
        clock.advance(61)
        #expect(b.admit(now: clock.now) == .probe)
        b.recordFailure(now: clock.now)
        #expect(b.state == .open(until: clock.now + 60))
        #expect(b.admit(now: clock.now + 30) == .refused(retryAt: clock.now + 60))
        #expect(b.admit(now: clock.now + 60) == .probe)
    }

    @Test func aProbeWithoutVerdictIsGivenUpAfterACooldownOrOnRelease() {
        var b = CircuitBreaker(spec: Self.spec)
        for _ in 0..<3 { b.recordFailure(now: 0) }
        #expect(b.admit(now: 60) == .probe)
        #expect(b.admit(now: 119) == .refused(retryAt: 120))
        #expect(b.admit(now: 120) == .probe)
        b.releaseProbe()
        #expect(b.admit(now: 121) == .probe)
    }

    /// A gate that refuses named nodes.
    final class Refusing: TargetGate {
        let refused: [String: TargetAdmission]
        let asked = Mutex<[String]>([])
        init(_ refused: [String: TargetAdmission]) { self.refused = refused }
        func admit(_ key: TargetKey, now: Double) -> TargetAdmission {
            asked.withLock { $0.append(key.node) }
            return refused[key.node] ?? .allowed
        }
    }

    static let route = """
        nodes:
          main:
            model: openai/gpt-5.2
            breaker: { failures: 5, within: 30s, cooldown: 1m }
            fallback: spare
          spare:
            model: anthropic/claude-sonnet-4-5
            max_concurrency: 2
          plain:
            model: openai/gpt-5-mini
        """

    @Test func anOpenBreakerIsSkippedLikeAFailedAttempt() throws {
        let c = compile(Self.route)
        #expect(c.diagnostics.map(\.message) == ["node 'plain' is unreachable from the start node 'main'"])
        let g = try #require(c.graph)
        let gate = Refusing(["main": .breakerOpen(retryAt: 130)])
        var run = RouteRun(graph: g, tracing: true)
        var rng = SplitMix64(seed: 1)
        guard case .attempt(let a) = run.start(facts: RequestFacts(), limits: InMemoryLimitStore(), now: 100, rng: &rng, gate: gate) else { Issue.record("no attempt"); return }
        #expect(a.nodeName == "spare" && a.step == 0)
        #expect(a.gateKey == TargetKey(route: g.name, node: "spare", target: ModelTarget("anthropic/claude-sonnet-4-5")!, breaker: nil, maxConcurrency: 2))
        #expect(run.pathDescription == "main>spare")
        #expect(gate.asked.withLock { $0 } == ["main", "spare"])

        let text = RouteExplanation.render(graph: g, facts: RequestFacts(), seed: 1, now: 100, gate: gate)
        #expect(text.contains("1. main: skipped, circuit breaker open (probe in 30s)"), "\(text)")
        #expect(text.contains("2. main failed → fallback spare"), "\(text)")
        #expect(text.contains("1. anthropic/claude-sonnet-4-5 (node spare): no timeout, no retries, at most 2 in flight"), "\(text)")
        // Without live state (switchyard explain), the breaker is listed but nothing is skipped.
        let offline = RouteExplanation.render(graph: g, facts: RequestFacts(), seed: 1, now: 100)
        #expect(offline.contains("1. openai/gpt-5.2 (node main): no timeout, no retries, falls back on timeout, connect, 408, 429, 5xx, breaker 5 failures in 30s, cooldown 1m"), "\(offline)")
        #expect(RouteGraphRenderer.render(g, format: .mermaid).contains("breaker 5 failures in 30s, cooldown 1m"))
    }

    @Test func aSkippedNodeWithoutFallbackEndsWith503() throws {
        let g = try #require(compile(Self.route).graph)
        let gate = Refusing(["main": .breakerOpen(retryAt: 130), "spare": .full(limit: 2)])
        var run = RouteRun(graph: g)
        var rng = SplitMix64(seed: 1)
        guard case .rejected(let r) = run.start(facts: RequestFacts(), limits: InMemoryLimitStore(), now: 100, rng: &rng, gate: gate) else { Issue.record("not rejected"); return }
        #expect(r.kind == .unavailable && r.node == "spare" && r.retryAfter == nil)
        #expect(r.message == "Route '\(g.name)' skipped 'spare' (anthropic/claude-sonnet-4-5): 2 attempts are in flight (max_concurrency), and it has no fallback")

        // After a real attempt failed, a skipped fallback ends with that attempt's error instead.
        let late = Refusing(["spare": .full(limit: 2)])
        var run2 = RouteRun(graph: g)
        guard case .attempt = run2.start(facts: RequestFacts(), limits: InMemoryLimitStore(), now: 100, rng: &rng, gate: late) else { Issue.record("no attempt"); return }
        guard case .exhausted = run2.fallback(facts: RequestFacts(), limits: InMemoryLimitStore(), now: 100, rng: &rng, gate: late) else { Issue.record("not exhausted"); return }
    }

    @Test func breakerDiagnostics() {
        let c = compile("""
            nodes:
              main:
                model: openai/gpt-5.2
                breaker: { failures: 0, within: 0s, cooldwn: 1m }
                max_concurrency: 1.5
            """)
        #expect(diagnosticsText(c) == """
            test.yaml:4:26: error: 'failures' must be a whole number from 1 to 1000, found the number 0
            test.yaml:4:37: error: '0s' is not a duration; use 250ms, 20s, 5m, 1h, 1d
            test.yaml:4:41: error: unknown key 'cooldwn' in 'breaker'; did you mean 'cooldown'?
            test.yaml:5:22: error: 'max_concurrency' must be a whole number from 1 to 100000 (attempts in flight), found the number 1.5
            """)
    }
}
