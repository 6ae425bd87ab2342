import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardProviders
import Testing

@testable import SwitchyardServer

/// Endpoints, error codes and limits that need no upstream.
@Suite struct GatewayRouterTests {
    static func configuration(_ yaml: String = "", environment: [String: String] = [:]) throws -> GatewayConfiguration {
        var c = try ConfigurationParser.parse(yaml, environment: environment)
        c.listen.port = 0
        return c
    }

    struct Envelope: Decodable {
        struct Item: Decodable { let code: Int; let message: String }
        let success: Bool
        let error: [Item]
        let name: String
        let httpCode: Int
        let internalCode: Int
        let message: String
    }

    static func envelope(_ response: TestResponse) throws -> Envelope {
        try JSONDecoder().decode(Envelope.self, from: Data(response.body.readableBytesView))
    }

    func withApp(_ yaml: String = "", environment: [String: String] = [:], _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = buildApplication(configuration: try Self.configuration(yaml, environment: environment), environment: environment)
        try await app.test(.router, body)
    }

    func expectError(
        _ client: any TestClientProtocol, _ uri: String, method: HTTPRequest.Method = .post, headers: HTTPFields = [:], body: String? = nil,
        status: HTTPResponse.Status, code: Int, messageContains: String? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws {
        try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            #expect(response.status == status, sourceLocation: sourceLocation)
            let e = try Self.envelope(response)
            #expect(e.success == false && e.name == "AiGatewayError", sourceLocation: sourceLocation)
            #expect(e.internalCode == code && e.error.first?.code == code && e.httpCode == Int(status.code), sourceLocation: sourceLocation)
            if let messageContains { #expect(e.message.contains(messageContains), "\(e.message)", sourceLocation: sourceLocation) }
            #expect(response.headers[HTTPField.Name("cf-aig-log-id")!] != nil, sourceLocation: sourceLocation)
            #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        }
    }

    @Test func healthz() async throws {
        try await withApp { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
            try await expectError(client, "/healthz", method: .post, status: .methodNotAllowed, code: 2046)
        }
    }

    @Test func unknownPathsAndMethods() async throws {
        try await withApp { client in
            try await expectError(client, "/compat/completions", status: .notFound, code: 2048)
            try await expectError(client, "/v1/acct/default", status: .badRequest, code: 2043, messageContains: "universal endpoint")
            try await expectError(client, "/v1/acct/default", method: .get, status: .methodNotAllowed, code: 2046)
            try await expectError(client, "/v1/acct/default", body: #"[{"provider":"nope","endpoint":"x","query":{}}]"#, status: .badRequest, code: 2008)
            try await expectError(client, "/v1/acct/default", body: #"[{"provider":"openai","query":{}}]"#, status: .badRequest, code: 2043, messageContains: "'endpoint'")
            try await expectError(client, "/nothing", method: .get, status: .notFound, code: 2048)
            try await expectError(client, "/compat/chat/completions", method: .get, status: .methodNotAllowed, code: 2046, messageContains: "POST")
            try await expectError(client, "/compat/models", method: .post, status: .methodNotAllowed, code: 2046, messageContains: "GET")
        }
    }

    @Test func unknownGateway() async throws {
        try await withApp { client in
            try await expectError(client, "/v1/acct/nope/compat/chat/completions", body: #"{"model":"openai/x"}"#, status: .badRequest, code: 2001, messageContains: "'nope'")
            try await expectError(client, "/v1/acct/nope/openai/chat/completions", body: "{}", status: .badRequest, code: 2001)
        }
    }

    @Test func badBodies() async throws {
        try await withApp(environment: ["OPENAI_API_KEY": "sk"]) { client in
            let uri = "/compat/chat/completions"
            try await expectError(client, uri, body: "{not json", status: .badRequest, code: 2043, messageContains: "not a JSON object")
            try await expectError(client, uri, body: "[]", status: .badRequest, code: 2043)
            try await expectError(client, uri, body: #"{"messages":[]}"#, status: .badRequest, code: 2043, messageContains: "'model' is required")
            try await expectError(client, uri, body: #"{"model":5}"#, status: .badRequest, code: 2043, messageContains: "must be a string")
            try await expectError(client, uri, body: #"{"model":"gpt-4o"}"#, status: .badRequest, code: 2043, messageContains: "provider/model")
            try await expectError(client, uri, body: #"{"model":"openai/x","stream":"yes"}"#, status: .badRequest, code: 2043, messageContains: "'stream'")
            try await expectError(client, uri, headers: [HTTPField.Name("cf-aig-request-timeout")!: "soon"], body: #"{"model":"openai/x"}"#,
                                  status: .badRequest, code: 2043, messageContains: "cf-aig-request-timeout")
            try await expectError(client, uri, headers: [HTTPField.Name("cf-aig-max-attempts")!: "9"], body: #"{"model":"openai/x"}"#,
                                  status: .badRequest, code: 2043, messageContains: "cf-aig-max-attempts")
        }
    }

    @Test func unknownProviderAndRoute() async throws {
        try await withApp { client in
            try await expectError(client, "/compat/chat/completions", body: #"{"model":"opnai/gpt-4o"}"#, status: .badRequest, code: 2008, messageContains: "did you mean 'openai'?")
            try await expectError(client, "/compat/chat/completions", body: #"{"model":"dynamic/support"}"#, status: .notFound, code: 2042, messageContains: "'dynamic/support'")
            try await expectError(client, "/v1/a/default/nopeai/chat/completions", body: "{}", status: .badRequest, code: 2008)
        }
    }

    @Test func bodyLimit() async throws {
        try await withApp("limits: { max_body_bytes: 64 }", environment: ["OPENAI_API_KEY": "sk"]) { client in
            let big = #"{"model":"openai/x","messages":[{"role":"user","content":""# + String(repeating: "a", count: 100) + #""}]}"#
            try await expectError(client, "/compat/chat/completions", body: big, status: .contentTooLarge, code: 2045, messageContains: "64 bytes")
            try await expectError(client, "/openai/chat/completions", body: big, status: .contentTooLarge, code: 2045)
        }
    }

    @Test func missingKeyNamesTheVariable() async throws {
        try await withApp { client in
            try await expectError(client, "/compat/chat/completions", body: #"{"model":"groq/llama"}"#, status: .unauthorized, code: 2047, messageContains: "GROQ_API_KEY")
            try await expectError(client, "/compat/embeddings", body: #"{"model":"openai/text-embedding-3-small","input":"x"}"#, status: .unauthorized, code: 2047, messageContains: "OPENAI_API_KEY")
            try await expectError(client, "/groq/chat/completions", body: "{}", status: .unauthorized, code: 2047, messageContains: "GROQ_API_KEY")
        }
    }

    @Test func unknownKeyAlias() async throws {
        let yaml = """
            providers:
              openai: { keys: { default: sk-a, team-b: sk-b } }
            """
        try await withApp(yaml) { client in
            try await expectError(client, "/compat/chat/completions", headers: [HTTPField.Name("cf-aig-byok-alias")!: "team-c"], body: #"{"model":"openai/x"}"#,
                                  status: .badRequest, code: 2040, messageContains: "default, team-b")
        }
    }

    @Test func authenticatedGateway() async throws {
        let yaml = """
            gateways:
              default: { authentication: true, tokens: [gw-token] }
            """
        try await withApp(yaml) { client in
            try await expectError(client, "/compat/chat/completions", body: #"{"model":"openai/x"}"#, status: .unauthorized, code: 2009)
            try await expectError(client, "/compat/chat/completions", headers: [HTTPField.Name("cf-aig-authorization")!: "Bearer wrong"], body: #"{"model":"openai/x"}"#,
                                  status: .unauthorized, code: 2009, messageContains: "not valid")
            try await expectError(client, "/compat/models", method: .get, status: .unauthorized, code: 2009)
            try await expectError(client, "/openai/models", method: .get, status: .unauthorized, code: 2009)
            // The token authenticates; the request then fails for want of a provider key, not for auth.
            try await expectError(client, "/compat/chat/completions", headers: [HTTPField.Name("cf-aig-authorization")!: "Bearer gw-token"], body: #"{"model":"openai/x"}"#,
                                  status: .unauthorized, code: 2047)
            try await expectError(client, "/compat/chat/completions", headers: [.authorization: "Bearer gw-token"], body: #"{"model":"openai/x"}"#,
                                  status: .unauthorized, code: 2047)
        }
    }

    @Test func eventIDIsEchoedAndLogIDIsFresh() async throws {
        try await withApp { client in
            var ids: [String] = []
            for _ in 0..<2 {
                try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [HTTPField.Name("cf-aig-event-id")!: "evt-1"], body: ByteBuffer(string: "{}")) { response in
                    #expect(response.headers[HTTPField.Name("cf-aig-event-id")!] == "evt-1")
                    ids.append(try #require(response.headers[HTTPField.Name("cf-aig-log-id")!]))
                }
            }
            #expect(ids[0] != ids[1])
            #expect(ids[0].count == 36 && ids[0].dropFirst(14).first == "7")
        }
    }

    @Test func unreachableUpstreamIs502NamingTheProvider() async throws {
        let yaml = """
            providers:
              openai: { base_url: "http://127.0.0.1:1/v1", keys: { default: sk-test } }
            """
        try await withApp(yaml) { client in
            try await expectError(client, "/compat/chat/completions", body: #"{"model":"openai/gpt-4o","messages":[]}"#, status: .badGateway, code: 2005, messageContains: "'openai'")
            try await expectError(client, "/openai/chat/completions", body: #"{"model":"gpt-4o"}"#, status: .badGateway, code: 2005, messageContains: "'openai'")
        }
    }

    @Test func modelsListIsEmptyWithoutKeys() async throws {
        try await withApp { client in
            try await client.execute(uri: "/compat/models", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"data":[],"object":"list"}"#)
            }
        }
    }
}

extension GatewayRouterTests {
    @Test func gatewayRateLimitIs429WithRetryAfter() async throws {
        let yaml = """
            gateways:
              default: { rate_limit: { limit: 2, per: 1m, technique: fixed } }
            """
        let configuration = try Self.configuration(yaml)
        let app = buildApplication(configuration: configuration, environment: [:], now: { 1_000_040 })  // 20 s into a fixed 1m window
        try await app.test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/compat/chat/completions", method: .post, body: ByteBuffer(string: "{}")) { response in
                    #expect(response.status == .badRequest)
                }
            }
            try await expectError(client, "/compat/chat/completions", body: "{}", status: .tooManyRequests, code: 2003, messageContains: "2 requests per 1m")
            try await client.execute(uri: "/openai/models", method: .get) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "40")
            }
        }
    }
}
