import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardServer

/// `GatewayControls.finish` is the only end of a request: every request, whatever its endpoint
/// and however it ends, writes exactly one log line and is counted exactly once.
@Suite struct RequestEndTests {
    @Test func everyEndpointEndsEachRequestExactlyOnce() async throws {
        try await ProviderHarness.run(gateways: "gateways:\n  default: { cache: { ttl: 5m } }\n") { client, _, logs in
            let chat = #"{"model":"openai/gpt-5-mini","messages":[{"role":"user","content":"hi"}]}"#
            let stream = #"{"model":"openai/gpt-5-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            var sent: [(String, HTTPResponse.Status)] = []
            func record(_ path: String, _ r: TestResponse) { sent.append((path, r.status)) }
            record("/healthz", try await client.execute(uri: "/healthz", method: .get))
            record("/metrics", try await client.execute(uri: "/metrics", method: .get))
            record("/admin/routes", try await client.execute(uri: "/admin/routes", method: .get))
            record("/admin/logs", try await client.execute(uri: "/admin/logs", method: .get))  // 503: no storage here
            record("/nowhere", try await client.execute(uri: "/nowhere", method: .get))
            record("/compat/chat/completions", try await client.post("/compat/chat/completions", json: chat))
            record("/compat/chat/completions", try await client.post("/compat/chat/completions", json: chat))  // a cache hit
            record("/compat/chat/completions", try await client.post("/compat/chat/completions", json: stream))
            record("/compat/chat/completions", try await client.post("/compat/chat/completions", json: "{not json"))
            record("/compat/models", try await client.execute(uri: "/compat/models", method: .get))
            record("/openai/chat/completions", try await client.post("/openai/chat/completions", json: #"{"model":"gpt-5-mini","messages":[{"role":"user","content":"x"}]}"#))
            record("/v1/acct/nope/compat/chat/completions", try await client.post("/v1/acct/nope/compat/chat/completions", json: chat))
            record("/v1/acct/default", try await client.post("/v1/acct/default", json: #"[{"provider":"openai","endpoint":"chat/completions","query":{"model":"gpt-5-mini","messages":[]}}]"#))
            #expect(sent.map(\.1.code) == [200, 200, 200, 503, 404, 200, 200, 200, 400, 200, 200, 400, 200], "\(sent)")

            let scrape = try PrometheusText(try await client.execute(uri: "/metrics", method: .get).text)
            // The scrape above is counted when it ends, after its own text was written.
            #expect(scrape.sum("switchyard_requests_total") == Double(sent.count))
            // Gateway endpoints only: compat ×5, models, passthrough, the unknown gateway, universal.
            #expect(scrape.sum("switchyard_gateway_requests_total") == 9)
            let lines = logs.all.compactMap { line in line.metadata["log_id"].map { ($0, line) } }
                .filter { $0.1.metadata["status"] != nil }
            // The gateway's own answers (the last scrape's too) end as they are handed over.
            #expect(lines.count == sent.count + 1, "\(lines.map(\.1.message))")
            #expect(Set(lines.map(\.0)).count == lines.count)
            for (i, (path, status)) in sent.enumerated() where i < lines.count {
                #expect(lines[i].1.message.hasSuffix(" " + path), "\(lines[i].1.message) for \(path)")
                #expect(lines[i].1.metadata["status"] == String(status.code))
            }
            #expect(lines[6].1.metadata["note"] == "cache hit")
        }
    }
}
