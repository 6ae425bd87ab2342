import Foundation
import Synchronization
import Testing
@testable import SwitchyardCore

/// Key values chosen by clients are bounded before they name a counter, and shortened in messages.
@Suite struct LimitKeyTextTests: RouteLimitTesting {


    @Test func digestForm() {
        let short = String(repeating: "a", count: 64)
        #expect(LimitKeyText.bounded(short) == short)
        #expect(LimitKeyText.bounded("") == "")
        #expect(LimitKeyText.bounded("u1") == "u1")
        let long = short + "b"
        let d = LimitKeyText.bounded(long)
        #expect(d.hasPrefix("sha256:") && d.utf8.count == 39)
        #expect(d.dropFirst(7).allSatisfy { "0123456789abcdef".contains($0) })
        #expect(LimitKeyText.bounded(long) == d)
        #expect(LimitKeyText.bounded(short + "c") != d)
        // 64 bytes of multi-byte characters: 16 four-byte scalars stay, 17 are digested.
        #expect(LimitKeyText.bounded(String(repeating: "🦆", count: 16)) == String(repeating: "🦆", count: 16))
        #expect(LimitKeyText.bounded(String(repeating: "🦆", count: 17)).hasPrefix("sha256:"))
        // A client cannot send a digest to share another value's counter.
        #expect(LimitKeyText.bounded(d) != d)
        #expect(LimitKeyText.bounded(d).hasPrefix("sha256:"))
    }

    @Test func displayShowsAtMostFortyScalars() {
        let forty = String(repeating: "k", count: 40)
        #expect(LimitKeyText.display(forty) == forty)
        #expect(LimitKeyText.display(forty + "k") == String(repeating: "k", count: 32) + "…")
        #expect(LimitKeyText.display("sha256:0123456789abcdef0123456789abcdef") == "sha256:0123456789abcdef0123456789abcdef")
        // One character made of 100,000 combining marks is still cut.
        let zalgo = "e" + String(repeating: "\u{301}", count: 100_000)
        #expect(LimitKeyText.display(zalgo).unicodeScalars.count == 33)
        #expect(LimitKey(route: "r", node: "n", keyValue: forty + forty).description == "r/n[\(String(repeating: "k", count: 32))…]")
    }

    @Test func budgetKeysAreBoundedAndNamedBriefly() throws {
        let g = try graph("""
            nodes:
              spend:
                budget: { limit: 0.000001, per: 1d, key: metadata.org }
                then: openai/gpt-5-mini
            """)
        let limits = RecordingLimits(InMemoryLimitStore())
        let org = String(repeating: "o", count: 100_000)
        let step = run(g, RequestFacts(metadata: ["org": .string(org)], estimatedInputTokens: 100_000, estimatedOutputTokens: 100_000), limits: limits, now: 1_800_000_000)
        guard case .rejected(let r) = step else { Issue.record("not rejected: \(step)"); return }
        #expect(r.message.utf8.count < 200, "\(r.message)")
        #expect(limits.keys.withLock { $0 }.allSatisfy { $0.keyValue.utf8.count <= LimitKeyText.maxBytes })
    }

    @Test func stickyKeysAreBoundedStableAndShortInExplain() throws {
        let g = try graph("""
            nodes:
              ab:
                split:
                  - 50%: openai/gpt-5.2
                  - 50%: openai/gpt-5-mini
                sticky: metadata.user
            """)
        let user = String(repeating: "u", count: 500_000)
        let facts = RequestFacts(metadata: ["user": .string(user)])
        var run = RouteRun(graph: g, tracing: true)
        var rng = SplitMix64(seed: 1)
        _ = run.start(facts: facts, limits: InMemoryLimitStore(), now: 0, rng: &rng)
        guard case .split(_, let arm, _, _, let position, let sticky)? = run.trace?.first else { Issue.record("no split traced"); return }
        #expect(sticky == LimitKeyText.bounded(user))
        #expect(position == StickyHash.position(route: "t", node: "ab", key: LimitKeyText.bounded(user)))
        // Stable: the same long value lands on the same arm whatever the seed.
        for seed in 2..<20 as Range<UInt64> {
            var again = RouteRun(graph: g, tracing: true)
            var r = SplitMix64(seed: seed)
            _ = again.start(facts: facts, limits: InMemoryLimitStore(), now: 0, rng: &r)
            guard case .split(_, let a, _, _, _, _)? = again.trace?.first else { Issue.record("no split traced"); return }
            #expect(a == arm)
        }
        let text = RouteExplanation.render(graph: g, facts: facts, seed: 1, now: 0)
        let path = text.split(separator: "\n").filter { $0.contains("sticky") }
        #expect(path.count == 1)
        #expect(path.allSatisfy { $0.utf8.count < 200 }, "\(path.map(\.utf8.count))")
    }

    @Test func explainNamesRateKeysBriefly() throws {
        let g = try graph(Self.keyedOnUser)
        let facts = RequestFacts(body: .object(["user": .string(String(repeating: "z", count: 10_000))]))
        let text = RouteExplanation.render(graph: g, facts: facts, seed: 1, now: 0)
        let lines = text.split(separator: "\n").filter { $0.contains("gate") }
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.utf8.count < 200 }, "\(lines.map(\.utf8.count))")
    }
}

/// A limit store that records the keys it is asked about.
final class RecordingLimits: LimitStore {
    let base: InMemoryLimitStore
    let keys = Mutex<[LimitKey]>([])
    init(_ base: InMemoryLimitStore) { self.base = base }
    func consume(_ key: LimitKey, cost: Double, limit: Double, window: Seconds, technique: RouteNode.WindowTechnique, now: Double) -> RateDecision {
        keys.withLock { $0.append(key) }
        return base.consume(key, cost: cost, limit: limit, window: window, technique: technique, now: now)
    }
    func reserve(_ key: LimitKey, amount: Double, limit: Double, window: Seconds, now: Double) -> BudgetDecision {
        keys.withLock { $0.append(key) }
        return base.reserve(key, amount: amount, limit: limit, window: window, now: now)
    }
    func reconcile(_ reservation: BudgetReservation, actualCost: Double) { base.reconcile(reservation, actualCost: actualCost) }
    func budgetUsage(_ key: LimitKey, window: Seconds, now: Double) -> (spent: Double, reserved: Double) { base.budgetUsage(key, window: window, now: now) }
}
