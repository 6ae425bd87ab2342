import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// `switchyard simulate` against a live run: requests through a split route are logged with their
/// route facts, then the same route replayed over that log gives the same shares.
@Suite struct SimulateLiveTests {
    static let route = """
        nodes:
          ab:
            split:
              - 70%: tier
              - 30%: b
          tier:
            if: headers.x-tier == "gold"
            then: b
            else: a
          a:
            model: openai/m-a
          b:
            model: openai/m-b
        """

    static let requests = 2000

    @Test func simulatingTheSameRouteOverItsLogMatchesTheLiveShares() async throws {
        let graph = try #require(RouteCompiler.compile(RouteSource(path: "split.yaml", contents: Self.route)).graph)
        let h = try await ControlsHarness.run(keepLog: true, routes: RouteCatalog(graphs: [graph]), randomSeed: 42) { client, _ async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<Self.requests {
                    if i >= 16 { try await group.next() }
                    group.addTask {
                        var headers: HTTPFields = [:]
                        if i % 5 == 0 { headers[HTTPField.Name("x-tier")!] = "gold" }
                        headers[HTTPField.Name("x-unread")!] = "not kept"
                        let r = try await client.chat("dynamic/split", text: "q\(i)", headers: headers)
                        #expect(r.status == .ok)
                    }
                }
                try await group.waitForAll()
            }
        }
        defer { h.removeDatabase() }
        let records = try await h.allRecords()
        #expect(records.count == Self.requests)
        // What the log kept of each request: the one header the route reads, and the token estimates.
        let gold = try #require(records.first { $0.routeFacts?.headers["x-tier"] == "gold" }?.routeFacts)
        #expect(gold.read == ["headers.x-tier"])
        #expect(gold.headers == ["x-tier": "gold"])
        #expect(gold.inputTokens > 0 && gold.outputTokens == RequestFacts.defaultOutputTokens)
        #expect(records.allSatisfy { $0.routeFacts?.headers["x-unread"] == nil && $0.routeFacts != nil })

        var simulation = RouteSimulation(graph: graph, seed: 42)
        for record in records { simulation.replay(record) }
        let r = simulation.result
        #expect(r.requests == Self.requests)
        #expect(r.factsMissing == 0)
        #expect(r.limitRejectionsBefore == 0 && r.limitRejectionsAfter == 0)
        for (before, after) in [(r.pathsBefore, r.pathsAfter), (r.modelsBefore, r.modelsAfter)] {
            #expect(Set(before.keys) == Set(after.keys), "\(before) vs \(after)")
            for key in before.keys {
                let live = r.share(before[key, default: 0]), simulated = r.share(after[key, default: 0])
                #expect(abs(live - simulated) < 0.02, "\(key): live \(live), simulated \(simulated)")
            }
        }
        // Every gold request of the `tier` arm takes b in both: the header was replayed.
        #expect(r.pathsBefore["ab>tier>b", default: 0] > 0 && r.pathsAfter["ab>tier>b", default: 0] > 0)
        #expect(records.filter { $0.routePath == "ab>tier>b" }.allSatisfy { $0.routeFacts?.headers["x-tier"] == "gold" })
    }
}
