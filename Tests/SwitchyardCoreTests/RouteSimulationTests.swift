import Foundation
import Testing
@testable import SwitchyardCore

/// `RouteSimulation`: logged requests replayed through a new route version, and the facts the log keeps.
@Suite struct RouteSimulationTests {
    static func graph(_ yaml: String, name: String = "support") throws -> RouteGraph {
        let c = compile(yaml, path: "\(name).yaml")
        return try #require(c.graph, "\(diagnosticsText(c))")
    }

    /// A logged request of route `support` that reached `model` (provider/model) along `path`.
    static func record(_ id: String, at t: Double, path: String, model: String?, status: Int = 200, cost: Double = 0,
                       metadata: [String: JSONValue] = [:], facts: RouteFacts? = RouteFacts(inputTokens: 100, outputTokens: 50)) -> RequestLogRecord {
        let target = model.flatMap(ModelTarget.init)
        return RequestLogRecord(
            id: id, createdAt: t, gateway: "default", provider: target?.provider ?? "", model: target?.model ?? "dynamic/support",
            route: "support@000000000000", routePath: path, statusCode: status, success: status == 200, durationMs: 1,
            usage: Usage(promptTokens: 100, completionTokens: 50), cost: cost, metadata: metadata, routeFacts: facts)
    }

    static let ninetyTen = """
        nodes:
          ab:
            split:
              - 90%: a
              - 10%: b
          a: { model: openai/gpt-5-mini }
          b: { model: openai/gpt-5.2 }
        """

    @Test func changingASplitMovesTheShares() throws {
        let fiftyFifty = try Self.graph(Self.ninetyTen.replacingOccurrences(of: "90%", with: "50%").replacingOccurrences(of: "10%", with: "50%"))
        var sim = RouteSimulation(graph: fiftyFifty, seed: 7)
        for i in 0..<2000 {
            let onB = i % 10 == 0
            sim.replay(Self.record("r\(i)", at: 1_000_000 + Double(i), path: onB ? "ab>b" : "ab>a", model: onB ? "openai/gpt-5.2" : "openai/gpt-5-mini"))
        }
        let r = sim.result
        #expect(r.requests == 2000)
        #expect(r.pathsBefore == ["ab>a": 1800, "ab>b": 200])
        #expect(r.modelsBefore == ["openai/gpt-5-mini": 1800, "openai/gpt-5.2": 200])
        let afterA = r.share(r.pathsAfter["ab>a", default: 0])
        // Binomial(2000, 0.5): σ ≈ 0.011; seeded, so the same every run.
        #expect(abs(afterA - 0.5) < 0.04, "share of a after: \(afterA)")
        #expect(r.pathsAfter["ab>a", default: 0] + r.pathsAfter["ab>b", default: 0] == 2000)
        #expect(r.modelsAfter["openai/gpt-5.2", default: 0] == r.pathsAfter["ab>b", default: 0])
        // A request that moved from a to b is priced at b's prices × its logged tokens.
        #expect(r.costAfter > r.costBefore)
        // The same seed gives the same answer.
        var again = RouteSimulation(graph: fiftyFifty, seed: 7)
        for i in 0..<2000 {
            let onB = i % 10 == 0
            again.replay(Self.record("r\(i)", at: 1_000_000 + Double(i), path: onB ? "ab>b" : "ab>a", model: onB ? "openai/gpt-5.2" : "openai/gpt-5-mini"))
        }
        #expect(again.result == r)
    }

    @Test func theSameVersionReplaysStickySplitsExactly() throws {
        let sticky = try Self.graph(Self.ninetyTen.replacingOccurrences(of: "      - 10%: b\n", with: "      - 10%: b\n    sticky: metadata.user\n"))
        #expect(sticky.reads.isEmpty, "metadata is logged anyway")
        // Log what the route itself decides, then replay it: nothing changes.
        var logged: [RequestLogRecord] = []
        var rng = SplitMix64(seed: 3)
        for i in 0..<300 {
            let facts = RequestFacts(metadata: ["user": .string("u\(i % 37)")], model: "dynamic/support")
            var run = RouteRun(graph: sticky)
            guard case .attempt(let a) = run.start(facts: facts, limits: InMemoryLimitStore(), now: 0, rng: &rng) else { Issue.record("no attempt"); return }
            logged.append(Self.record("s\(i)", at: Double(i), path: run.pathDescription, model: a.target.description, metadata: facts.metadata,
                                      facts: RouteFacts(capturing: facts, reads: sticky.reads)))
        }
        var sim = RouteSimulation(graph: sticky, seed: 99)
        logged.forEach { sim.replay($0) }
        #expect(sim.result.pathChanged == 0)
        #expect(sim.result.pathsAfter == sim.result.pathsBefore)
        #expect(sim.result.factsMissing == 0)
    }

    @Test func aNewRateLimitRejectsByTheLoggedTimestamps() throws {
        let limited = try Self.graph("""
            nodes:
              gate:
                rate: { limit: 2, per: 1m, technique: fixed }
                then: a
                exceeded: reject
              a: { model: openai/gpt-5-mini }
            """)
        var sim = RouteSimulation(graph: limited)
        // Five requests within one minute, then five more ten minutes later: 2 + 2 pass.
        for i in 0..<5 { sim.replay(Self.record("x\(i)", at: 1020 + Double(i), path: "a", model: "openai/gpt-5-mini", cost: 0.001)) }
        for i in 0..<5 { sim.replay(Self.record("y\(i)", at: 1620 + Double(i), path: "a", model: "openai/gpt-5-mini", cost: 0.001)) }
        let r = sim.result
        #expect(r.limitRejectionsBefore == 0)
        #expect(r.limitRejectionsAfter == 6)
        #expect(r.rejectionsAfterByNode == ["gate": 6])
        #expect(r.pathsAfter == ["gate>a": 4, "gate>reject": 6])
        #expect(r.modelsAfter == ["openai/gpt-5-mini": 4, RouteSimulation.rejectedLabel(429): 6])
        #expect(abs(r.costBefore - 0.01) < 1e-12)
        #expect(abs(r.costAfter - 0.004) < 1e-12, "the logged cost of the requests still answered by the same model")
        // Logged 429s of the route (no provider) count before.
        var back = RouteSimulation(graph: try Self.graph("nodes:\n  a: { model: openai/gpt-5-mini }\n"))
        back.replay(Self.record("z", at: 1, path: "gate>reject", model: nil, status: 429))
        #expect(back.result.limitRejectionsBefore == 1)
        #expect(back.result.limitRejectionsAfter == 0)
        #expect(back.result.estimatedTokens == 1, "never answered: priced on its token estimates")
        #expect(back.result.costAfter > 0)
    }

    @Test func aConditionOnAHeaderTheOldVersionDidNotReadCountsFactsMissing() throws {
        let old = try Self.graph("nodes:\n  a: { model: openai/gpt-5-mini }\n")
        let new = try Self.graph("""
            nodes:
              tier:
                if: headers.x-tier == "gold"
                then: b
                else: a
              a: { model: openai/gpt-5-mini }
              b: { model: openai/gpt-5.2 }
            """)
        #expect(new.reads.names == ["headers.x-tier"])
        var sim = RouteSimulation(graph: new)
        let gold = RequestFacts(headers: ["X-Tier": "gold"], model: "dynamic/support")
        for i in 0..<4 {
            // Logged by the old version: it read no header, so none was kept.
            sim.replay(Self.record("o\(i)", at: Double(i), path: "a", model: "openai/gpt-5-mini", facts: RouteFacts(capturing: gold, reads: old.reads)))
        }
        // Logged by a version that read the header.
        sim.replay(Self.record("n", at: 10, path: "tier>b", model: "openai/gpt-5.2", facts: RouteFacts(capturing: gold, reads: new.reads)))
        // Logged before route facts were kept.
        sim.replay(Self.record("none", at: 11, path: "a", model: "openai/gpt-5-mini", facts: nil))
        let r = sim.result
        #expect(r.factsMissing == 5)
        #expect(r.missingFacts == ["headers.x-tier": 5])
        #expect(r.withoutFacts == 1)
        #expect(r.pathsAfter == ["tier>a": 5, "tier>b": 1], "missing facts are evaluated as absent")
        let text = RouteSimulationReport.text(r, source: "support-v2.yaml")
        #expect(text.contains("facts missing: 5 requests; they are evaluated with the member absent (headers.x-tier 5)"))
    }

    @Test func pathChangedIsCountedExactly() throws {
        let new = try Self.graph("""
            nodes:
              plan:
                if: metadata.plan == "paid"
                then: claude
                else: gpt
              claude: { model: anthropic/claude-sonnet-4-5, fallback: gpt }
              gpt: { model: openai/gpt-5.2 }
            """)
        var sim = RouteSimulation(graph: new)
        let paid: [String: JSONValue] = ["plan": .string("paid")], free: [String: JSONValue] = ["plan": .string("free")]
        sim.replay(Self.record("p1", at: 1, path: "plan>gpt", model: "openai/gpt-5.2", metadata: paid))
        sim.replay(Self.record("f1", at: 2, path: "plan>gpt", model: "openai/gpt-5.2", metadata: free))
        sim.replay(Self.record("p2", at: 3, path: "plan>gpt", model: "openai/gpt-5.2", metadata: paid))
        sim.replay(Self.record("p3", at: 4, path: "plan>claude", model: "anthropic/claude-sonnet-4-5", metadata: paid))
        sim.replay(Self.record("f2", at: 5, path: "plan>gpt", model: "openai/gpt-5.2", metadata: free))
        // Claude failed for this one: the replay fails it again and follows the fallback.
        sim.replay(Self.record("p4", at: 6, path: "plan>claude>gpt", model: "openai/gpt-5.2", metadata: paid))
        // A cache hit never ran the route.
        var hit = Self.record("c", at: 7, path: "plan>gpt", model: "openai/gpt-5.2", metadata: paid)
        hit.cached = true
        sim.replay(hit)
        let r = sim.result
        #expect(r.requests == 6)
        #expect(r.cachedSkipped == 1)
        #expect(r.pathChanged == 2)
        #expect(r.modelChanged == 2)
        #expect(r.changedExamples.map(\.id) == ["p1", "p2"])
        #expect(r.changedExamples.first == .init(id: "p1", pathBefore: "plan>gpt", pathAfter: "plan>claude", modelBefore: "openai/gpt-5.2", modelAfter: "anthropic/claude-sonnet-4-5"))
        #expect(r.pathsAfter == ["plan>gpt": 2, "plan>claude": 3, "plan>claude>gpt": 1])
    }

    @Test func aBudgetIsSpentAtTheNewModelsPrices() throws {
        // $0.02 a day: with gpt-5.2 (1.75 in, 14 out per million) 100 in + 50 out tokens cost
        // $0.000875 per request, so 22 requests fit; the reservation is at the same price.
        let budgeted = try Self.graph("""
            nodes:
              spend:
                budget: { limit: 0.02, per: 1d }
                then: b
                exceeded: reject
              b: { model: openai/gpt-5.2 }
            """)
        var sim = RouteSimulation(graph: budgeted)
        for i in 0..<40 { sim.replay(Self.record("b\(i)", at: 86400 * 100 + Double(i), path: "a", model: "openai/gpt-5-mini")) }
        let r = sim.result
        let perRequest = PriceTable().cost(of: Usage(promptTokens: 100, completionTokens: 50), for: ModelTarget("openai/gpt-5.2")!)
        let fits = Int((0.02 / perRequest).rounded(.down))
        #expect(r.limitRejectionsAfter == 40 - fits, "\(r.modelsAfter)")
        #expect(abs(r.costAfter - Double(fits) * perRequest) < 1e-9)
    }

    @Test func routeFactsAreBoundedAndKeepNoCredentials() throws {
        let reads = RouteReads(headers: ["authorization", "x-tier", "x-long"], bodyMembers: ["temperature", "messages", "api_key"], requestTokens: true)
        let facts = RequestFacts(
            headers: ["Authorization": "Bearer sk-secret-000000", "X-Tier": "gold", "X-Long": String(repeating: "x", count: 300)],
            body: .object(["temperature": .number(0.2), "messages": .string(String(repeating: "m", count: 2000)), "api_key": .string("sk-body-key-0000"), "other": .number(1)]),
            model: "dynamic/support", estimatedInputTokens: 600, estimatedOutputTokens: 128)
        let captured = RouteFacts(capturing: facts, reads: reads)
        #expect(captured.headers == ["x-tier": "gold"])
        #expect(captured.body == ["temperature": .number(0.2)])
        #expect(Set(captured.dropped) == ["headers.authorization", "headers.x-long", "body.messages", "body.api_key"])
        #expect(captured.requestTokens == 500)
        #expect(captured.inputTokens == 600 && captured.outputTokens == 128)
        #expect(!captured.jsonText.contains("sk-"))
        #expect(captured.jsonText.utf8.count <= RouteFacts.maxBytes)
        #expect(RouteFacts(jsonText: captured.jsonText) == captured)
        #expect(captured.has("headers.x-tier") && captured.has("body.temperature") && captured.has("request.tokens"))
        #expect(!captured.has("body.messages") && !captured.has("headers.x-other"))
        // Replayed, `request.tokens` is the recorded count, not one from the body the log did not keep.
        #expect(captured.requestFacts(metadata: [:], model: "dynamic/support", gateway: "default").requestTokens == 500)

        // Many members: the whole object stays within the cap.
        var many: [String: JSONValue] = [:]
        for i in 0..<40 { many["m\(i)"] = .string(String(repeating: "v", count: 500)) }
        let big = RouteFacts(capturing: RequestFacts(body: .object(many)), reads: RouteReads(wholeBody: true))
        #expect(big.jsonText.utf8.count <= RouteFacts.maxBytes)
        #expect(!big.dropped.isEmpty && !big.has("body"))
    }
}
