import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

@Suite struct MetricsTests {
    @Test func scrapedNumbersAddUp() async throws {
        let extra = """
            gateways:
              default: { cache: { ttl: 5m } }
              limited: { rate_limit: { limit: 2, per: 1m, technique: fixed } }
            """
        try await ControlsHarness.run(extra: extra) { client, h async throws in
            var promptTokens = 0
            var completionTokens = 0
            for i in 0..<12 {
                let r = try await client.chat(text: "question \(i)", stream: i % 3 == 0)
                #expect(r.status == .ok)
                if i % 3 == 0 {
                    let usage = try #require(SSEPayloads(r.text).usage)
                    promptTokens += Int(usage["prompt_tokens"]?.numberValue ?? 0)
                    completionTokens += Int(usage["completion_tokens"]?.numberValue ?? 0)
                } else {
                    promptTokens += Int(r.json["usage"]?["prompt_tokens"]?.numberValue ?? 0)
                    completionTokens += Int(r.json["usage"]?["completion_tokens"]?.numberValue ?? 0)
                }
            }
            // 3 cache hits, 1 unknown model (label "other"), 3 requests to a gateway limited to 2.
            for _ in 0..<3 { #expect(try await client.chat(text: "question 1").header("cf-aig-cache-status") == "HIT") }
            #expect(try await client.chat("openai/some-unlisted-model-\(UUID().uuidString)", text: "x").status == .ok)
            var limited = 0
            for _ in 0..<3 {
                let r = try await client.chat(text: "limited", gateway: "limited")
                if r.status == .tooManyRequests { limited += 1 }
                if r.status == .ok {
                    promptTokens += Int(r.json["usage"]?["prompt_tokens"]?.numberValue ?? 0)
                    completionTokens += Int(r.json["usage"]?["completion_tokens"]?.numberValue ?? 0)
                }
            }
            #expect(limited == 1)
            let sent = 12 + 3 + 1 + 3

            let scrape = try await client.execute(uri: "/metrics", method: .get)
            #expect(scrape.status == .ok)
            #expect(scrape.header("content-type")?.hasPrefix("text/plain") == true)
            let m = try PrometheusText(scrape.text)
            #expect(m.sum("switchyard_gateway_requests_total") == Double(sent))
            #expect(m.sum("switchyard_gateway_requests_total", ["cached": "true"]) == 3)
            #expect(m.sum("switchyard_gateway_requests_total", ["status_class": "4xx"]) == 1)
            #expect(m.sum("switchyard_gateway_requests_total", ["model": "other"]) == 1)
            #expect(m.sum("switchyard_gateway_requests_total", ["gateway": "limited"]) == 3)
            #expect(m.sum("switchyard_limit_rejections_total", ["code": "2003"]) == 1)
            #expect(m.sum("switchyard_cache_requests_total", ["result": "hit"]) == 3)
            #expect(m.sum("switchyard_cache_requests_total", ["result": "miss"]) == 13)
            // Tokens: every answer gpt-5-mini gave from upstream (cache hits are not counted again).
            #expect(promptTokens > 0 && completionTokens > 0)
            #expect(m.sum("switchyard_model_tokens_total", ["model": "openai/gpt-5-mini", "direction": "in"]) == Double(promptTokens))
            #expect(m.sum("switchyard_model_tokens_total", ["model": "openai/gpt-5-mini", "direction": "out"]) == Double(completionTokens))
            #expect(m.sum("switchyard_request_duration_seconds_count") == Double(sent))
            #expect(m.sum("switchyard_upstream_duration_seconds_count") == Double(sent - 3 - 1))
            #expect(m.types["switchyard_request_duration_seconds"] == "histogram")
            #expect(m.sum("switchyard_cost_usd_total") > 0)
            for sample in m.samples {
                for (_, value) in sample.labels { #expect(!value.contains("some-unlisted-model")) }
            }
            _ = h
        }
    }
}

extension MetricsTests {
    @Test func retriesAreCounted() async throws {
        try await ControlsHarness.run { client, h async throws in
            h.fake.setBehavior(FakeBehavior(failFirst: 2, failStatus: 503), forModel: "gpt-5-mini")
            let r = try await client.chat(text: "retry", headers: [HTTPField.Name("cf-aig-max-attempts")!: "3"])
            #expect(r.status == .ok)
            #expect(h.fake.requests().count == 3)
            let m = try PrometheusText(h.registry.emitToString())
            #expect(m.sum("switchyard_retries_total", ["provider": "openai"]) == 2)
        }
    }
}
