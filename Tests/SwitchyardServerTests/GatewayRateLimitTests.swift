import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// `gateways.<id>.rate_limit` at its boundaries, on the injected clock (starts on a minute boundary).
@Suite struct GatewayRateLimitTests {
    @Test func fixedWindowResetsAtTheBoundary() async throws {
        try await ControlsHarness.run(extra: "gateways: { default: { rate_limit: { limit: 3, per: 1m, technique: fixed } } }") { client, h async throws in
            h.clock.advance(59)
            for _ in 0..<3 { #expect(try await client.chat(text: "a").status == .ok) }
            let limited = try await client.chat(text: "a")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.json["internalCode"]?.numberValue == 2003)
            #expect(limited.header("retry-after") == "1")
            h.clock.advance(1)
            for _ in 0..<3 { #expect(try await client.chat(text: "b").status == .ok) }
            #expect(try await client.chat(text: "b").status == .tooManyRequests)
        }
    }

    @Test func slidingWindowWeighsThePreviousWindow() async throws {
        try await ControlsHarness.run(extra: "gateways: { default: { rate_limit: { limit: 2, per: 1m, technique: sliding } } }") { client, h async throws in
            for _ in 0..<2 { #expect(try await client.chat(text: "a").status == .ok) }
            h.clock.advance(60)
            // The whole previous window still counts at its start.
            #expect(try await client.chat(text: "a").status == .tooManyRequests)
            h.clock.advance(30)
            // Half of it is left: 1 + 1 ≤ 2, then 1 + 1 + 1 > 2.
            #expect(try await client.chat(text: "a").status == .ok)
            #expect(try await client.chat(text: "a").status == .tooManyRequests)
        }
    }

    @Test func concurrentRequestsNeverExceedTheLimit() async throws {
        try await ControlsHarness.run(extra: "gateways: { default: { rate_limit: { limit: 10, per: 1h, technique: fixed } } }") { client, h async throws in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<50 { group.addTask { try await client.chat(text: "c\(i)").status } }
                var out: [HTTPResponse.Status] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses.filter { $0 == .ok }.count == 10)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 40)
            #expect(h.fake.requests().count == 10)
            let metrics = try PrometheusText(h.registry.emitToString())
            #expect(metrics.sum("switchyard_limit_rejections_total", ["code": "2003"]) == 40)
        }
    }
}
