import Foundation
import HummingbirdTesting
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// `request.tokens` and `budget.<node>.remaining` through the real server.
@Suite struct LiveConditionRouteTests {
    static let routes = [
        "sized.yaml": """
            nodes:
              size:
                if: request.tokens > 100
                then: openai/m-long
                else: spend-check
              spend-check:
                if: budget.spend.remaining < 0.5
                then: openai/m-cheap
                else: spend
              spend:
                budget: { limit: 1, per: 1d, key: metadata.user }
                then: openai/m-normal
            """,
    ]

    @Test func longPromptsGoToTheLongContextModelAndSpentBudgetsToTheCheapOne() async throws {
        let limits = InMemoryLimitStore()
        try await RouteFixture.run(routes: Self.routes, limits: limits) { f, client in
            let user = headers([("cf-aig-metadata", #"{"user":"u1"}"#)])
            let long = String(repeating: "word ", count: 100)  // 500 bytes: 125 tokens
            let r1 = try await client.post("/compat/chat/completions",
                                           json: #"{"model":"dynamic/sized","messages":[{"role":"user","content":"\#(long)"}]}"#, headers: user)
            #expect(r1.header("cf-aig-model") == "m-long")
            let r2 = try await client.post("/compat/chat/completions", json: chat("dynamic/sized"), headers: user)
            #expect(r2.header("cf-aig-model") == "m-normal")
            #expect(r2.header("x-switchyard-path") == "size>spend-check>spend>openai/m-normal")
            // u1 has spent $0.60 of its dollar (more than the answer cost), so $0.40 is left.
            _ = limits.reserve(LimitKey(route: "sized", node: "spend", keyValue: "u1"), amount: 0.6, limit: 1, window: 86400, now: 1_800_000_000)
            let r3 = try await client.post("/compat/chat/completions", json: chat("dynamic/sized"), headers: user)
            #expect(r3.header("cf-aig-model") == "m-cheap")
            #expect(f.fake.count(model: "m-cheap") == 1)
        }
    }
}
