import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

@Suite struct KeyHandlingTests {
    @Test func keyPrecedenceRequestKeyThenAliasThenDefault() async throws {
        try await ControlsHarness.run { client, h async throws in
            let alias = HTTPField.Name("cf-aig-byok-alias")!
            #expect(try await client.chat(text: "a").status == .ok)
            #expect(try await client.chat(text: "b", headers: [alias: "team-b"]).status == .ok)
            #expect(try await client.chat(text: "c", headers: [alias: "team-b", .authorization: "Bearer sk-client-own-0001"]).status == .ok)
            let unknown = try await client.chat(text: "d", headers: [alias: "nope"])
            #expect(unknown.status == .badRequest)
            #expect(unknown.json["internalCode"]?.numberValue == 2040)
            let message = unknown.json["message"]?.stringValue ?? ""
            #expect(message.contains("default") && message.contains("team-b"))
            #expect(!message.contains("sk-stored"))
            let sent = h.fake.requests().map { $0.header("authorization") }
            #expect(sent == ["Bearer sk-stored-openai-0001", "Bearer sk-stored-openai-team-b", "Bearer sk-client-own-0001"])
        }
    }

    @Test func gatewayTokensAreCheckedAndNeverForwarded() async throws {
        let extra = "gateways: { default: { authentication: true, tokens: [gw-token-000001, gw-token-000002] } }"
        try await ControlsHarness.run(extra: extra) { client, h async throws in
            #expect(try await client.chat().status == .unauthorized)
            #expect(try await client.chat(headers: [HTTPField.Name("cf-aig-authorization")!: "Bearer gw-token-00000"]).status == .unauthorized)
            #expect(try await client.chat(headers: [HTTPField.Name("cf-aig-authorization")!: "Bearer gw-token-000002"]).status == .ok)
            #expect(try await client.chat(headers: [.authorization: "Bearer gw-token-000001"]).status == .ok)
            #expect(h.fake.requests().allSatisfy { $0.header("authorization") == "Bearer sk-stored-openai-0001" && $0.header("cf-aig-authorization") == nil })
        }
    }

    /// A provider that rejects every key, echoing it (and the query and body) in its error body.
    static func withEchoingUpstream(_ body: @Sendable (Int) async throws -> Void) async throws {
        let router = Router()
        router.post("**") { request, _ -> Response in
            var request = request
            let text = String(buffer: try await request.collectBody(upTo: 1 << 20))
            let echoed = "Incorrect API key provided: \(request.headers[.authorization] ?? "") \(request.headers[HTTPField.Name("x-api-key")!] ?? "") \(request.uri.string) \(text)"
            let json = JSONValue.object(["error": .object(["message": .string(echoed), "type": .string("invalid_request_error")])]).canonicalJSON
            return Response(status: .unauthorized, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(try #require(client.port)) }
    }

    @Test func aPlantedKeyNeverLeaves() async throws {
        let secret = "sk-planted-SECRET-4242"
        let stored = "sk-stored-STORED-9999"
        // Only in a request body, under a key-like field name.
        let bodyOnly = "sk-body-only-7777"
        try await Self.withEchoingUpstream { port in
            let responses = SharedList<[String]>([])
            let h = try await ControlsHarness.run(keepLog: true, yaml: { _ in
                """
                logs: { flush_interval: 50ms }
                providers:
                  openai:
                    base_url: http://127.0.0.1:\(port)/v1
                    keys: { default: \(stored) }
                  anthropic:
                    base_url: http://127.0.0.1:\(port)
                    keys: { default: \(stored) }
                  google-ai-studio:
                    base_url: http://127.0.0.1:\(port)
                """
            }) { client, h async throws in
                func keep(_ r: TestResponse) {
                    responses.append(r.text + " " + r.headers.map { "\($0.name): \($0.value)" }.joined(separator: " "))
                }
                let body = #"{"model":"openai/gpt-5-mini","api_key":"\#(secret)","messages":[{"role":"user","content":"hi"}]}"#
                // Authorization on compat: the client's own key, forwarded and echoed.
                keep(try await client.post("/v1/acct/default/compat/chat/completions", json: body, headers: [.authorization: "Bearer \(secret)"]))
                // The stored key, echoed.
                keep(try await client.post("/v1/acct/default/compat/chat/completions", json: #"{"model":"openai/gpt-5-mini","user":{"token":"\#(bodyOnly)"},"messages":[{"role":"user","content":"hi"}]}"#))
                // x-api-key on passthrough.
                keep(try await client.post("/v1/acct/default/anthropic/v1/messages", json: body, headers: [HTTPField.Name("x-api-key")!: secret]))
                // ?key= on passthrough.
                keep(try await client.post("/v1/acct/default/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent?key=\(secret)", json: body))
                keep(try await client.execute(uri: "/metrics", method: .get))
                keep(try await client.execute(uri: "/admin/logs", method: .get))
            }
            defer { h.removeDatabase() }
            let texts = responses.value
            #expect(texts.count == 6)
            #expect(texts[0].contains("Incorrect API key") && texts[0].contains("[REDACTED]"))
            for text in texts {
                #expect(!text.contains(secret))
                #expect(!text.contains(stored))
                #expect(!text.contains(bodyOnly))
            }
            let records = try await h.allRecords()
            #expect(records.count == 4)
            let encoded = String(decoding: try JSONEncoder().encode(records), as: UTF8.self)
            #expect(!encoded.contains(secret))
            #expect(!encoded.contains(stored))
            #expect(!encoded.contains(bodyOnly))
            #expect(encoded.contains("[REDACTED]"))
            let lines = h.logs.all.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
            #expect(!lines.isEmpty)
            #expect(!lines.contains(secret))
            #expect(!lines.contains(stored))
            let metrics = h.registry.emitToString()
            #expect(!metrics.contains(secret) && !metrics.contains(stored))
        }
    }
}
