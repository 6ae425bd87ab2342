import Foundation
import Testing
@testable import SwitchyardCore

@Suite struct RouteRunTests {
    func graph(_ yaml: String, name: String = "t") throws -> RouteGraph {
        let result = compile("name: \(name)\n" + yaml)
        return try #require(result.graph, "\(diagnosticsText(result))")
    }

    func first(_ g: RouteGraph, _ facts: RequestFacts = RequestFacts(), limits: any LimitStore = InMemoryLimitStore(), now: Double = 1_000_000, seed: UInt64 = 1) -> (RouteStep, RouteRun) {
        var run = RouteRun(graph: g)
        var rng = SplitMix64(seed: seed)
        let step = run.start(facts: facts, limits: limits, now: now, rng: &rng)
        return (step, run)
    }

    func attemptModel(_ step: RouteStep) -> String? {
        if case .attempt(let a) = step { return a.target.description }
        return nil
    }

    @Test func conditionalTakesBothArms() throws {
        let g = try graph("""
            nodes:
              plan:
                if: metadata.plan == "paid"
                then: openai/gpt-5.2
                else: openai/gpt-5-mini
            """)
        #expect(attemptModel(first(g, RequestFacts(metadata: ["plan": .string("paid")])).0) == "openai/gpt-5.2")
        #expect(attemptModel(first(g, RequestFacts(metadata: ["plan": .string("free")])).0) == "openai/gpt-5-mini")
        #expect(attemptModel(first(g, RequestFacts()).0) == "openai/gpt-5-mini")
        let (_, run) = first(g, RequestFacts(metadata: ["plan": .string("paid")]))
        #expect(run.pathDescription == "plan>openai/gpt-5.2")
    }

    @Test func splitSharesOver100kDraws() throws {
        let g = try graph("""
            nodes:
              ab:
                split:
                  - 70%: a
                  - 20%: b
                  - { weight: 10, to: c }
              a: { model: openai/gpt-5.2 }
              b: { model: openai/gpt-5-mini }
              c: { model: openai/gpt-5-nano }
            """)
        var counts: [String: Int] = [:]
        var rng = SplitMix64(seed: 42)
        let limits = InMemoryLimitStore()
        for _ in 0..<100_000 {
            var run = RouteRun(graph: g)
            if case .attempt(let a) = run.start(facts: RequestFacts(), limits: limits, now: 0, rng: &rng) { counts[a.nodeName, default: 0] += 1 }
        }
        // Binomial standard deviation at n = 100k is at most ~158; allow 5 sigma.
        #expect(abs(counts["a", default: 0] - 70_000) < 800)
        #expect(abs(counts["b", default: 0] - 20_000) < 800)
        #expect(abs(counts["c", default: 0] - 10_000) < 800)
    }

    @Test func splitElseTakesTheRemainder() throws {
        let g = try graph("""
            nodes:
              ab:
                split:
                  - 25%: openai/gpt-5.2
                  - else: openai/gpt-5-mini
            """)
        guard case .split(let s) = g.nodes[0].kind else { Issue.record("not a split"); return }
        #expect(s.arms.map(\.weight) == [25, 75])
    }

    static let canary = """
        nodes:
          canary:
            split:
              - 95%: stable
              - 5%: candidate
            sticky: metadata.user_id
          stable: { model: openai/gpt-5.1 }
          candidate: { model: openai/gpt-5.2 }
        """

    func stickyArms(_ g: RouteGraph, users: Int) -> [String] {
        (0..<users).map { i in
            attemptModel(first(g, RequestFacts(metadata: ["user_id": .string("user-\(i)")])).0) ?? "?"
        }
    }

    @Test func stickySplitIsStablePerKeyAndSharesAreRight() throws {
        let g = try graph(Self.canary, name: "canary")
        let arms = stickyArms(g, users: 20_000)
        // The same key always gets the same arm, whatever the seed.
        for i in stride(from: 0, to: 20_000, by: 997) {
            for seed in [UInt64(1), 2, 99] {
                let again = attemptModel(first(g, RequestFacts(metadata: ["user_id": .string("user-\(i)")]), seed: seed).0)
                #expect(again == arms[i])
            }
        }
        let candidates = arms.filter { $0 == "openai/gpt-5.2" }.count
        // 5% of 20k = 1000, sd ≈ 31.
        #expect(abs(candidates - 1000) < 160)
    }

    @Test func stickyArmsMostlyStayWhenWeightsMove() throws {
        let before = stickyArms(try graph(Self.canary, name: "canary"), users: 20_000)
        let moved = Self.canary.replacingOccurrences(of: "95%", with: "90%").replacingOccurrences(of: "- 5%", with: "- 10%")
        let after = stickyArms(try graph(moved, name: "canary"), users: 20_000)
        var changed = 0
        for (b, a) in zip(before, after) where b != a {
            changed += 1
            // Only keys in the moved band [0.90, 0.95) change, and only from stable to candidate.
            #expect(b == "openai/gpt-5.1" && a == "openai/gpt-5.2")
        }
        // 5% of keys sit in the moved band.
        #expect(abs(changed - 1000) < 160)
    }

    @Test func missingStickyKeySharesOneBucket() throws {
        let g = try graph(Self.canary, name: "canary")
        let arms = Set((1...50).map { attemptModel(first(g, RequestFacts(), seed: $0).0) })
        #expect(arms.count == 1)
    }

    func rateGraph(_ technique: String) throws -> RouteGraph {
        try graph("""
            nodes:
              limit:
                rate: { limit: 3, per: 1m, key: metadata.user_id, technique: \(technique) }
                then: openai/gpt-5.2
                exceeded: openai/gpt-5-nano
            """)
    }

    @Test func fixedWindowResetsAtTheBoundary() throws {
        let g = try rateGraph("fixed")
        let limits = InMemoryLimitStore()
        let facts = RequestFacts(metadata: ["user_id": .string("u1")])
        let t0 = 6_000.0  // a window boundary (multiple of 60)
        for i in 0..<3 { #expect(attemptModel(first(g, facts, limits: limits, now: t0 + Double(i)).0) == "openai/gpt-5.2") }
        #expect(attemptModel(first(g, facts, limits: limits, now: t0 + 59.999).0) == "openai/gpt-5-nano")
        // Another key has its own counter.
        #expect(attemptModel(first(g, RequestFacts(metadata: ["user_id": .string("u2")]), limits: limits, now: t0 + 59.999).0) == "openai/gpt-5.2")
        // The next window starts empty.
        for i in 0..<3 { #expect(attemptModel(first(g, facts, limits: limits, now: t0 + 60 + Double(i)).0) == "openai/gpt-5.2") }
        #expect(attemptModel(first(g, facts, limits: limits, now: t0 + 63).0) == "openai/gpt-5-nano")
    }

    @Test func slidingWindowCarriesThePreviousWindow() throws {
        let g = try rateGraph("sliding")
        let limits = InMemoryLimitStore()
        let facts = RequestFacts(metadata: ["user_id": .string("u1")])
        let t0 = 6_000.0
        for i in 0..<3 { #expect(attemptModel(first(g, facts, limits: limits, now: t0 + 50 + Double(i)).0) == "openai/gpt-5.2") }
        // Just after the boundary the previous window still weighs ~3 × (1 - 0.0167): refused.
        #expect(attemptModel(first(g, facts, limits: limits, now: t0 + 61).0) == "openai/gpt-5-nano")
        // Two thirds into the next window: 3 × 1/3 = 1 counted, so two more fit.
        #expect(attemptModel(first(g, facts, limits: limits, now: t0 + 100).0) == "openai/gpt-5.2")
        #expect(attemptModel(first(g, facts, limits: limits, now: t0 + 100).0) == "openai/gpt-5.2")
        #expect(attemptModel(first(g, facts, limits: limits, now: t0 + 100).0) == "openai/gpt-5-nano")
    }

    @Test func rateLimitDefaultsToA429Rejection() throws {
        let g = try graph("""
            nodes:
              limit:
                rate: { limit: 1, per: 1h, technique: fixed }
                then: openai/gpt-5.2
            """)
        let limits = InMemoryLimitStore()
        #expect(attemptModel(first(g, limits: limits, now: 0).0) == "openai/gpt-5.2")
        let (step, run) = first(g, limits: limits, now: 10)
        guard case .rejected(let r) = step else { Issue.record("expected a rejection, got \(step)"); return }
        #expect(r.chosenStatus == nil && r.kind == .rateLimit && r.node == "limit")
        #expect(r.retryAfter == 3590)
        #expect(run.pathDescription == "limit>reject")
    }

    @Test func budgetReservesAndReconciles() throws {
        let g = try graph("""
            nodes:
              spend:
                budget: { limit: 1, per: 1d, key: metadata.org }
                then: claude
              claude:
                model: anthropic/claude-sonnet-4-5
                fallback: openai/gpt-5-mini
            """)
        guard case .budget(let b) = g.nodes[0].kind else { Issue.record("not a budget"); return }
        // The most expensive reachable model's prices.
        #expect(b.reservationPrice == ModelPrice(input: 3.0, output: 15.0, cachedInput: 0.3))
        let limits = InMemoryLimitStore()
        // 10k in, 10k out at 3/15 per million = 0.03 + 0.15 = $0.18 reserved.
        let facts = RequestFacts(metadata: ["org": .string("acme")], estimatedInputTokens: 10_000, estimatedOutputTokens: 10_000)
        let (step, run) = first(g, facts, limits: limits, now: 0)
        #expect(attemptModel(step) == "anthropic/claude-sonnet-4-5")
        let reservation = try #require(run.reservations.first)
        #expect(abs(reservation.amount - 0.18) < 1e-9)
        let key = LimitKey(route: "t", node: "spend", keyValue: "acme")
        #expect(abs(limits.budgetUsage(key, window: 86400, now: 1).reserved - 0.18) < 1e-9)
        limits.reconcile(reservation, actualCost: 0.05)
        let usage = limits.budgetUsage(key, window: 86400, now: 1)
        #expect(usage.reserved == 0 && abs(usage.spent - 0.05) < 1e-9)
        // 0.05 spent + 5 × 0.18 = 0.95 fit; the sixth reservation would pass $1.
        for _ in 0..<5 { #expect(attemptModel(first(g, facts, limits: limits, now: 2).0) != nil) }
        guard case .rejected(let r) = first(g, facts, limits: limits, now: 3).0 else { Issue.record("expected a budget rejection"); return }
        #expect(r.kind == .budget && r.chosenStatus == nil)
    }

    @Test func concurrentBudgetReservationsNeverOverspend() async throws {
        let g = try graph("""
            nodes:
              spend:
                budget: { limit: 10, per: 1h }
                then: openai/gpt-5-mini
            """)
        let limits = InMemoryLimitStore()
        // Each reservation: 1000 in × 0.25 + 1000 out × 2 per million = $0.00225.
        let facts = RequestFacts(estimatedInputTokens: 1000, estimatedOutputTokens: 1000)
        let admitted = await withTaskGroup(of: Int.self) { group in
            for t in 0..<100 {
                group.addTask {
                    var count = 0
                    for i in 0..<100 {
                        var run = RouteRun(graph: g)
                        var rng = SplitMix64(seed: UInt64(t * 1000 + i))
                        if case .attempt = run.start(facts: facts, limits: limits, now: 100, rng: &rng) { count += 1 }
                    }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        let usage = limits.budgetUsage(LimitKey(route: "t", node: "spend", keyValue: ""), window: 3600, now: 100)
        #expect(usage.reserved <= 10 + 1e-9)
        #expect(admitted == Int((10 / 0.00225).rounded(.down)))
        #expect(abs(usage.reserved - Double(admitted) * 0.00225) < 1e-6)
    }

    @Test func fallbackChainRunsInOrderThenExhausts() throws {
        let g = try #require(RouteCompiler.compile(try Repo.source("routes/fallback-chain.yaml")).graph)
        var run = RouteRun(graph: g)
        var rng = SplitMix64(seed: 1)
        let limits = InMemoryLimitStore()
        var models: [String] = []
        var step = run.start(facts: RequestFacts(), limits: limits, now: 0, rng: &rng)
        while case .attempt(let a) = step {
            models.append("\(a.step):\(a.target):\(a.retries)")
            step = run.fallback(facts: RequestFacts(), limits: limits, now: 0, rng: &rng)
        }
        #expect(models == ["0:openai/gpt-5.2:1", "1:anthropic/claude-sonnet-4-5:1", "2:google-ai-studio/gemini-2.5-flash:2"])
        guard case .exhausted = step else { Issue.record("expected exhausted"); return }
        #expect(run.pathDescription == "primary>secondary>last-resort")
    }

    @Test func rejectNodesEndTheRoute() throws {
        let g = try graph("""
            nodes:
              gate:
                if: headers["x-blocked"] == "yes"
                then: deny
                else: openai/gpt-5.2
              deny:
                reject: { status: 403, message: "blocked by policy" }
            """)
        let (step, run) = first(g, RequestFacts(headers: ["X-Blocked": "yes"]))
        guard case .rejected(let r) = step else { Issue.record("expected rejection"); return }
        #expect(r.chosenStatus == 403 && r.message == "blocked by policy" && r.kind == .reject)
        #expect(run.pathDescription == "gate>deny")
        let bare = try graph("nodes:\n  stop:\n    reject: true\n")
        guard case .rejected(let r2) = first(bare).0 else { Issue.record("expected rejection"); return }
        #expect(r2.chosenStatus == 429)
    }

    @Test func customerSupportPaths() throws {
        let g = try #require(RouteCompiler.compile(try Repo.source("routes/customer-support.yaml")).graph)
        let limits = InMemoryLimitStore()
        let (paid, paidRun) = first(g, RequestFacts(metadata: ["plan": .string("paid"), "org_id": .string("o1")]), limits: limits)
        #expect(attemptModel(paid) == "anthropic/claude-sonnet-4-5")
        #expect(paidRun.pathDescription == "plan>paid-budget>claude")
        if case .attempt(let a) = paid {
            #expect(a.timeout == 20 && a.retries == 2 && a.backoff == Backoff(delay: 0.25, mode: .exponential))
        }
        var run = paidRun
        var rng = SplitMix64(seed: 1)
        let next = run.fallback(facts: RequestFacts(), limits: limits, now: 0, rng: &rng)
        guard case .attempt(let gpt) = next else { Issue.record("expected gpt"); return }
        #expect(gpt.target.description == "openai/gpt-5.2" && gpt.set == ["max_tokens": .number(1024)] && gpt.step == 1)
        #expect(run.pathDescription == "plan>paid-budget>claude>gpt")
        let (free, freeRun) = first(g, RequestFacts(metadata: ["user_id": .string("u9")]), limits: limits)
        #expect(attemptModel(free) != nil)
        #expect(freeRun.pathDescription.hasPrefix("plan>free-limit>ab>"))
    }
}

/// Numbers from clients and upstreams reach `Int` only through checked conversions.
@Suite struct NumberConversionTests {
    @Test func intValueRefusesWhatAnIntCannotHoldExactly() {
        #expect(JSONValue.number(42).intValue == 42)
        #expect(JSONValue.number(-3).intValue == -3)
        #expect(JSONValue.number(1e20).intValue == nil)
        #expect(JSONValue.number(2.5).intValue == nil)
        #expect(JSONValue.string("7").intValue == nil)
    }

    @Test func budgetEstimatesPreferMaxCompletionTokensAndClampHugeValues() {
        #expect(RequestFacts.estimatedOutputTokens(maxCompletionTokens: .number(200), maxTokens: .number(50)) == 200)
        #expect(RequestFacts.estimatedOutputTokens(maxCompletionTokens: nil, maxTokens: .number(50)) == 50)
        #expect(RequestFacts.estimatedOutputTokens(maxCompletionTokens: .number(1e300), maxTokens: nil) == 10_000_000)
        #expect(RequestFacts.estimatedOutputTokens(maxCompletionTokens: .number(-5), maxTokens: nil) == 0)
        #expect(RequestFacts.estimatedOutputTokens(maxCompletionTokens: .null, maxTokens: nil) == RequestFacts.defaultOutputTokens)
        // explain's sample request estimates as the server does.
        let facts = SampleRequest.facts(route: "r", metadata: [:], headers: [:], body: .object(["max_tokens": .number(1e30)]), model: nil)
        #expect(facts.estimatedOutputTokens == 10_000_000)
    }
}
