import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// Provider-native endpoints: bodies and streams byte for byte, stored keys injected in each
/// provider's header, usage still read for the request log.
@Suite struct NativePassthroughTests {
    /// What a second, identical fake answers when asked directly: the reference bytes.
    static func direct(_ path: String, body: String, headers: [(String, String)] = []) async throws -> (status: Int, body: String) {
        let fake = try await FakeUpstream.start(FakeUpstreamConfiguration(clock: ProviderHarness.clock))
        do {
            var request = HTTPClientRequest(url: fake.baseURL + path)
            request.method = .POST
            request.headers.add(contentsOf: headers + [("content-type", "application/json")])
            request.body = .bytes(ByteBuffer(string: body))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: 1 << 22)
            try await fake.shutdown()
            return (Int(response.status.code), String(buffer: bytes))
        } catch {
            try? await fake.shutdown()
            throw error
        }
    }

    static let anthropicBody = #"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello there"}]}"#
    static let anthropicStream = #"{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello there"}]}"#
    static let geminiBody = #"{"contents":[{"role":"user","parts":[{"text":"hello there"}]}]}"#
    static let workersBody = #"{"messages":[{"role":"user","content":"hello there"}],"stream":true}"#

    @Test(arguments: [anthropicBody, anthropicStream])
    func anthropicBytesUnchangedAndKeyInjected(body: String) async throws {
        let reference = try await Self.direct("/v1/messages", body: body, headers: [("anthropic-version", "2023-06-01")])
        try await ProviderHarness.run { client, fake, logs in
            let response = try await client.post("/anthropic/v1/messages", json: body)
            #expect(Int(response.status.code) == reference.status)
            #expect(response.text == reference.body)
            let sent = try #require(fake.requests().first)
            #expect(sent.path == "/v1/messages")
            #expect(sent.header("x-api-key") == ProviderHarness.keys["anthropic"])
            #expect(sent.header("anthropic-version") == "2023-06-01")
            #expect(sent.bodyText == body)
            let line = await logs.waitForRequest("/anthropic/v1/messages")
            #expect(line?.metadata["completion_tokens"] == "5")
            #expect(line?.metadata["model"] == "claude-sonnet-4-5")
        }
    }

    @Test func clientCredentialsAndVersionAreForwardedAsSent() async throws {
        try await ProviderHarness.run { client, fake, _ in
            let headers: HTTPFields = [
                HTTPField.Name("x-api-key")!: "sk-ant-client", HTTPField.Name("anthropic-version")!: "2023-01-01",
                HTTPField.Name("anthropic-beta")!: "tools-2024-04-04",
            ]
            let response = try await client.post("/anthropic/v1/messages", json: Self.anthropicBody, headers: headers)
            #expect(response.status == .ok)
            let sent = try #require(fake.requests().first)
            #expect(sent.header("x-api-key") == "sk-ant-client")
            #expect(sent.header("anthropic-version") == "2023-01-01")
            #expect(sent.header("anthropic-beta") == "tools-2024-04-04")
            #expect(sent.headers.filter { $0.name.lowercased() == "anthropic-version" }.count == 1)
            let compressed = try await client.post("/anthropic/v1/messages", json: Self.anthropicBody, headers: [.acceptEncoding: "gzip, br"])
            #expect(compressed.status == .ok)
            #expect(fake.requests().last?.header("accept-encoding") == nil, "usage is read from uncompressed bytes")

            _ = try await client.post("/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent", json: Self.geminiBody,
                                      headers: [HTTPField.Name("x-goog-api-key")!: "goog-client"])
            #expect(fake.requests().last?.header("x-goog-api-key") == "goog-client")
        }
    }

    @Test(arguments: [
        "/v1beta/models/gemini-2.5-flash:generateContent",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
    ])
    func geminiBytesUnchangedAndKeyInjected(path: String) async throws {
        let reference = try await Self.direct(path, body: Self.geminiBody)
        try await ProviderHarness.run { client, fake, logs in
            let response = try await client.post("/google-ai-studio" + path, json: Self.geminiBody)
            #expect(response.status == .ok)
            #expect(response.text == reference.body)
            let sent = try #require(fake.requests().first)
            #expect(sent.uri == path)
            #expect(sent.header("x-goog-api-key") == ProviderHarness.keys["google-ai-studio"])
            #expect(sent.header("anthropic-version") == nil)
            let logPath = "/google-ai-studio" + path.prefix { $0 != "?" }
            let line = await logs.waitForRequest(logPath)
            #expect(line?.metadata["completion_tokens"] == "5", "\(path)")
            #expect(line?.metadata["model"] == "gemini-2.5-flash")
        }
    }

    @Test func workersAINativeModelPath() async throws {
        let reference = try await Self.direct("/client/v4/accounts/acct/ai/run/@cf/meta/llama-3.1-8b-instruct", body: Self.workersBody)
        try await ProviderHarness.run { client, fake, logs in
            let response = try await client.post("/workers-ai/@cf/meta/llama-3.1-8b-instruct", json: Self.workersBody)
            #expect(response.status == .ok)
            #expect(response.text == reference.body)
            #expect(response.text.contains("data: [DONE]"))
            let sent = try #require(fake.requests().first)
            #expect(sent.path == "/client/v4/accounts/acct/ai/run/@cf/meta/llama-3.1-8b-instruct")
            #expect(sent.header("authorization") == "Bearer \(ProviderHarness.keys["workers-ai"]!)")
            let line = await logs.waitForRequest("/workers-ai/@cf/meta/llama-3.1-8b-instruct")
            #expect(line?.metadata["completion_tokens"] == "5")
            #expect(line?.metadata["model"] == "@cf/meta/llama-3.1-8b-instruct")

            let compat = try await client.post("/workers-ai/v1/chat/completions", json: #"{"model":"@cf/meta/llama-3.1-8b-instruct","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(compat.status == .ok)
            #expect(fake.requests().last?.path == "/client/v4/accounts/acct/ai/v1/chat/completions")
        }
    }

    @Test func azureResourceAndDeploymentFromThePath() async throws {
        try await ProviderHarness.run { client, fake, logs in
            // Azure ignores `model` on deployment URLs; the fake wants one.
            let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hello there"}]}"#
            let response = try await client.post("/azure-openai/myres/dep-1/chat/completions?api-version=2024-10-21", json: body)
            #expect(response.status == .ok, "\(response.text)")
            let sent = try #require(fake.requests().first)
            #expect(sent.uri == "/openai/deployments/dep-1/chat/completions?api-version=2024-10-21")
            #expect(sent.header("api-key") == ProviderHarness.keys["azure-openai"])
            #expect(sent.header("authorization") == nil)
            #expect(sent.bodyText == body)
            let line = await logs.waitForRequest("/azure-openai/myres/dep-1/chat/completions")
            #expect(line?.metadata["completion_tokens"] == "5")

            let bad = try await client.post("/azure-openai/only-resource", json: body)
            #expect(bad.status == .badRequest)
            #expect(fake.requests().count == 1)
        }
    }

    @Test func upstreamErrorsPassUnchanged() async throws {
        let reference = try await Self.direct("/v1/messages", body: Self.anthropicBody, headers: [("x-fake-status", "529")])
        try await ProviderHarness.run { client, _, logs in
            let response = try await client.post("/anthropic/v1/messages", json: Self.anthropicBody, headers: [HTTPField.Name("x-fake-status")!: "529"])
            #expect(response.status.code == 529)
            #expect(response.text == reference.body)
            #expect(response.json["type"]?.stringValue == "error")
            let line = await logs.waitForRequest("/anthropic/v1/messages")
            #expect(line?.metadata["prompt_tokens"] == nil)
        }
    }

    @Test func gatewayTokenAsTheNativeKeyUsesTheStoredKey() async throws {
        let gateways = """
            gateways:
              default:
                tokens: [gw-token]
              locked:
                authentication: true
                tokens: [gw-token]

            """
        try await ProviderHarness.run(gateways: gateways) { client, fake, _ in
            for (uri, header) in [("/anthropic/v1/messages", "x-api-key"), ("/v1/acct/locked/anthropic/v1/messages", "x-api-key")] {
                let response = try await client.post(uri, json: Self.anthropicBody, headers: [HTTPField.Name(header)!: "gw-token"])
                #expect(response.status == .ok, "\(uri): \(response.text)")
                #expect(fake.requests().last?.header("x-api-key") == ProviderHarness.keys["anthropic"])
                #expect(fake.requests().last?.headers.contains { $0.value.contains("gw-token") } == false)
            }
            let gemini = try await client.post("/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent", json: Self.geminiBody,
                                               headers: [HTTPField.Name("x-goog-api-key")!: "gw-token"])
            #expect(gemini.status == .ok)
            #expect(fake.requests().last?.header("x-goog-api-key") == ProviderHarness.keys["google-ai-studio"])
            let count = fake.requests().count
            let rejected = try await client.post("/v1/acct/locked/anthropic/v1/messages", json: Self.anthropicBody,
                                                 headers: [HTTPField.Name("x-api-key")!: "sk-ant-not-a-token"])
            #expect(rejected.status == .unauthorized)
            #expect(fake.requests().count == count)
        }
    }
}
