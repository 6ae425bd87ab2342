import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// Percentage splits through the live gateway: shares over many requests, sticky keys.
@Suite struct DynamicSplitTests {
    static let split = """
        nodes:
          ab:
            split:
              - 70%: a
              - 30%: b
          a:
            model: openai/m-a
          b:
            model: openai/m-b
        """

    static let sticky = """
        nodes:
          ab:
            split:
              - 50%: a
              - 50%: b
            sticky: metadata.user
          a:
            model: openai/m-a
          b:
            model: openai/m-b
        """

    @Test func sharesOverTwoThousandRequestsWithinTolerance() async throws {
        try await RouteFixture.run(routes: ["split.yaml": Self.split]) { f, client in
            let results = try await withThrowingTaskGroup(of: (String, String).self) { group in
                var all: [(String, String)] = []
                for i in 0..<2000 {
                    if i >= 16, let r = try await group.next() { all.append(r) }
                    group.addTask {
                        let r = try await client.post("/compat/chat/completions", json: chat("dynamic/split"))
                        return (r.header("cf-aig-model") ?? "", r.header("x-switchyard-path") ?? "")
                    }
                }
                return try await group.reduce(into: all) { $0.append($1) }
            }
            let a = f.fake.count(model: "m-a"), b = f.fake.count(model: "m-b")
            #expect(a + b == 2000)
            // Binomial(2000, 0.7): σ ≈ 0.0102; 3.5σ.
            let share = Double(a) / 2000
            #expect(abs(share - 0.7) < 0.036, "share of a: \(share)")
            // Headers agree with what went upstream.
            #expect(results.filter { $0.0 == "m-a" }.count == a)
            #expect(results.allSatisfy { ($0.0 == "m-a" && $0.1 == "ab>a") || ($0.0 == "m-b" && $0.1 == "ab>b") })
        }
    }

    @Test func stickyKeysAlwaysGetTheSameArm() async throws {
        try await RouteFixture.run(routes: ["sticky.yaml": Self.sticky]) { f, client in
            var arms: [String: Set<String>] = [:]
            for _ in 0..<4 {
                for user in 0..<50 {
                    let r = try await client.post(
                        "/compat/chat/completions", json: chat("dynamic/sticky"), headers: headers([("cf-aig-metadata", #"{"user":"user-\#(user)"}"#)]))
                    #expect(r.status == .ok)
                    arms["user-\(user)", default: []].insert(r.header("cf-aig-model") ?? "?")
                }
            }
            #expect(arms.count == 50)
            #expect(arms.values.allSatisfy { $0.count == 1 && ($0 == ["m-a"] || $0 == ["m-b"]) }, "\(arms)")
            let onA = arms.values.filter { $0 == ["m-a"] }.count
            #expect(onA > 10 && onA < 40, "both arms get users: \(onA) of 50 on a")
        }
    }

    @Test func stickyArmSurvivesAReloadOfTheSameWeights() async throws {
        try await RouteFixture.run(routes: ["sticky.yaml": Self.sticky]) { f, client in
            func arm(_ user: Int) async throws -> String {
                try await client.post(
                    "/compat/chat/completions", json: chat("dynamic/sticky"), headers: headers([("cf-aig-metadata", #"{"user":"user-\#(user)"}"#)])
                ).header("cf-aig-model") ?? "?"
            }
            var before: [String] = []
            for user in 0..<20 { before.append(try await arm(user)) }
            #expect(try await client.execute(uri: "/admin/reload", method: .post).status == .ok)
            var after: [String] = []
            for user in 0..<20 { after.append(try await arm(user)) }
            #expect(before == after)
        }
    }
}
