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

    /// Every gateway's tokens and the admin token: none of them may reach a provider.
    static let gatewayCredentials = ["gw-own-000001", "gw-other-000001", "gw-secure-000001", "adm-token-000001"]
    static let credentialGateways = """
        admin: { token: adm-token-000001 }
        gateways:
          default: { authentication: true, tokens: [gw-own-000001] }
          other: { tokens: [gw-other-000001] }
          secure: { authentication: true, tokens: [gw-secure-000001] }
          open: {}
        """

    /// What the fake upstream received, as one text per request (headers and URI).
    static func leaked(_ fake: FakeUpstream) -> [String] {
        fake.requests().compactMap { request in
            let text = request.uri + " " + request.headers.map { "\($0.name): \($0.value)" }.joined(separator: " ")
            return gatewayCredentials.contains(where: text.contains) ? text : nil
        }
    }

    static func universalStep(headers: String = "{}") -> String {
        #"{"provider":"openai","endpoint":"chat/completions","headers":\#(headers),"query":{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}]}}"#
    }

    @Test func noGatewayCredentialLeavesThroughTheUniversalEndpoint() async throws {
        try await ControlsHarness.run(extra: Self.credentialGateways) { client, h async throws in
            let own = HTTPField.Name("cf-aig-authorization")!
            let stored = "Bearer sk-stored-openai-0001"
            // This gateway's token as a native SDK's key: it authenticates, and the stored key goes upstream.
            for name in ["x-api-key", "api-key", "x-goog-api-key"] {
                let r = try await client.post("/v1/acct/default", json: "[\(Self.universalStep())]", headers: [HTTPField.Name(name)!: "gw-own-000001"])
                #expect(r.status == .ok, "\(name): \(r.text)")
            }
            // Tokens written into a step's headers, in every credential header, with and without Bearer.
            let stepHeaders = [
                #"{"x-api-key":"gw-own-000001"}"#, #"{"api-key":"gw-own-000001"}"#, #"{"x-goog-api-key":"gw-other-000001"}"#,
                #"{"Authorization":"Bearer gw-other-000001"}"#, #"{"Authorization":"gw-own-000001"}"#, #"{"authorization":"Bearer adm-token-000001"}"#,
                #"{"X-Api-Key":"Bearer gw-secure-000001"}"#,
            ]
            for headers in stepHeaders {
                let r = try await client.post("/v1/acct/default", json: "[\(Self.universalStep(headers: headers))]", headers: [own: "Bearer gw-own-000001"])
                #expect(r.status == .ok, "\(headers): \(r.text)")
            }
            // Another gateway's token and the admin token in the request's own credential headers.
            for (name, value) in [("authorization", "Bearer gw-other-000001"), ("authorization", "adm-token-000001"), ("x-api-key", "gw-secure-000001"), ("api-key", "adm-token-000001")] {
                let r = try await client.post("/v1/acct/default", json: "[\(Self.universalStep())]", headers: [own: "Bearer gw-own-000001", HTTPField.Name(name)!: value])
                #expect(r.status == .ok, "\(name): \(r.text)")
            }
            // Another gateway's token does not authenticate this one.
            let foreign = try await client.post("/v1/acct/default", json: "[\(Self.universalStep())]", headers: [.authorization: "Bearer gw-other-000001"])
            #expect(foreign.status == .unauthorized)
            #expect(foreign.json["internalCode"]?.numberValue == 2009)
            let foreignKey = try await client.post("/v1/acct/default", json: "[\(Self.universalStep())]", headers: [HTTPField.Name("x-api-key")!: "gw-secure-000001"])
            #expect(foreignKey.status == .unauthorized)

            let sent = h.fake.requests()
            #expect(sent.count == 14)
            #expect(Self.leaked(h.fake).isEmpty, "\(Self.leaked(h.fake))")
            #expect(sent.allSatisfy { $0.header("authorization") == stored && $0.header("x-api-key") == nil && $0.header("api-key") == nil }, "the stored key is used as when no credential was sent")
        }
    }

    @Test func anotherGatewaysTokenIsNeverAProviderKeyOnCompatOrPassthrough() async throws {
        try await ControlsHarness.run(extra: Self.credentialGateways) { client, h async throws in
            let anthropicBody = #"{"model":"claude-x","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#
            for token in ["gw-other-000001", "gw-secure-000001", "adm-token-000001"] {
                // Compat: the stored key is used, as when no key was sent.
                #expect(try await client.chat(headers: [.authorization: "Bearer \(token)"], gateway: "open").status == .ok)
                // Passthrough, in each credential header the provider could read.
                let openAI = try await client.post("/v1/acct/open/openai/chat/completions", json: chat("gpt-5-mini"), headers: [.authorization: "Bearer \(token)"])
                #expect(openAI.status == .ok, "\(openAI.text)")
                let bare = try await client.post("/v1/acct/open/openai/chat/completions", json: chat("gpt-5-mini"), headers: [.authorization: token])
                #expect(bare.status == .ok, "\(bare.text)")
                let anthropic = try await client.post("/v1/acct/open/anthropic/v1/messages", json: anthropicBody, headers: [HTTPField.Name("x-api-key")!: token])
                #expect(anthropic.status == .ok, "\(anthropic.text)")
                let query = try await client.post("/v1/acct/open/openai/chat/completions?key=\(token)&x=1", json: chat("gpt-5-mini"))
                #expect(query.status == .ok, "\(query.text)")
            }
            // ... and it does not authenticate a gateway that requires its own token.
            let compat = try await client.chat(headers: [.authorization: "Bearer gw-other-000001"], gateway: "secure")
            #expect(compat.status == .unauthorized)
            #expect(compat.json["internalCode"]?.numberValue == 2009)
            let passthrough = try await client.post("/v1/acct/secure/openai/chat/completions", json: chat("gpt-5-mini"), headers: [.authorization: "Bearer adm-token-000001"])
            #expect(passthrough.status == .unauthorized)
            #expect(try await client.chat(headers: [.authorization: "Bearer gw-secure-000001"], gateway: "secure").status == .ok)

            let sent = h.fake.requests()
            #expect(sent.count == 16)
            #expect(Self.leaked(h.fake).isEmpty, "\(Self.leaked(h.fake))")
            let openAI = sent.filter { !$0.path.hasSuffix("/messages") }
            let anthropic = sent.filter { $0.path.hasSuffix("/messages") }
            #expect(openAI.count == 13 && anthropic.count == 3)
            #expect(openAI.allSatisfy { $0.header("authorization") == "Bearer sk-stored-openai-0001" })
            #expect(anthropic.allSatisfy { $0.header("x-api-key") == "sk-ant-stored-0001" })
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
