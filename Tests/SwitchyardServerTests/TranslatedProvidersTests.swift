import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// The same OpenAI request, with only `model` changed, through every translated provider.
@Suite struct TranslatedProvidersTests {
    static let models = [
        "openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "google-ai-studio/gemini-2.5-flash",
        "workers-ai/@cf/meta/llama-3.1-8b-instruct", "azure-openai/myres/gpt4o-deploy",
    ]
    static let weatherTool = #"{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}}"#

    static func chat(_ model: String, stream: Bool = false, includeUsage: Bool = false, extra: String = "") -> String {
        var body = #"{"model":"\#(model)","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hello there"}]"#
        if stream { body += #","stream":true"# }
        if includeUsage { body += #","stream_options":{"include_usage":true}"# }
        return body + extra + "}"
    }

    @Test(arguments: models) func sameAnswerFromEveryProvider(model: String) async throws {
        try await ProviderHarness.run { client, _, logs in
            let response = try await client.post("/compat/chat/completions", json: Self.chat(model))
            #expect(response.status == .ok, "\(response.text)")
            let json = response.json
            #expect(json["object"]?.stringValue == "chat.completion")
            #expect(json["choices"]?[0]?["message"]?["role"]?.stringValue == "assistant")
            #expect(json["choices"]?[0]?["message"]?["content"]?.stringValue == "Echo: hello there")
            #expect(json["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
            // "Echo: hello there" is 17 characters: the fake counts ceil(17 / 4) = 5 tokens in every format.
            #expect(json["usage"]?["completion_tokens"]?.numberValue == 5)
            let prompt = json["usage"]?["prompt_tokens"]?.numberValue ?? 0
            #expect(prompt > 0)
            #expect(json["usage"]?["total_tokens"]?.numberValue == prompt + 5)
            #expect(response.header("cf-aig-provider") == String(model.prefix { $0 != "/" }))
            let line = logs.request("/compat/chat/completions")
            #expect(line?.metadata["completion_tokens"] == "5")
        }
    }

    @Test(arguments: models) func sameStreamFromEveryProvider(model: String) async throws {
        try await ProviderHarness.run { client, _, _ in
            let response = try await client.post("/compat/chat/completions", json: Self.chat(model, stream: true, includeUsage: true))
            #expect(response.status == .ok)
            #expect(response.header("content-type") == "text/event-stream")
            let sse = SSEPayloads(response.text)
            #expect(sse.otherFields.isEmpty, "only data: lines, no event: lines: \(sse.otherFields)")
            #expect(sse.payloads.last == "[DONE]")
            #expect(sse.payloads.filter { $0 == "[DONE]" }.count == 1)
            #expect(sse.chunks.allSatisfy { $0["object"]?.stringValue == "chat.completion.chunk" })
            #expect(sse.chunks.count == sse.payloads.count - 1, "every payload but [DONE] is a JSON chunk")
            #expect(sse.content == "Echo: hello there")
            #expect(sse.finishReasons == ["stop"])
            #expect(sse.usage?["completion_tokens"]?.numberValue == 5)
            #expect((sse.usage?["prompt_tokens"]?.numberValue ?? 0) > 0)
        }
    }

    @Test(arguments: models) func streamedToolCallArgumentsReassemble(model: String) async throws {
        try await ProviderHarness.run { client, _, _ in
            let extra = #","tools":[\#(Self.weatherTool)],"tool_choice":"required""#
            let response = try await client.post(
                "/compat/chat/completions", json: Self.chat(model, stream: true, extra: extra), headers: [HTTPField.Name("x-fake-chunks")!: "4"]
            )
            #expect(response.status == .ok)
            let sse = SSEPayloads(response.text)
            let calls = sse.toolCalls
            #expect(calls.count == 1, "\(response.text)")
            #expect(calls.first?.name == "get_weather")
            #expect(calls.first.map { !$0.id.isEmpty } == true)
            let arguments = try calls.first.map { try JSONValue.parse($0.arguments) }
            #expect(arguments == .object(["city": .string("Paris"), "days": .number(1), "unit": .string("celsius")]))
            #expect(sse.finishReasons == ["tool_calls"])
            #expect(sse.usage == nil, "no usage chunk unless the client asks")
        }
    }

    @Test(arguments: models) func toolCallsWithoutStreaming(model: String) async throws {
        try await ProviderHarness.run { client, _, _ in
            let extra = #","tools":[\#(Self.weatherTool)],"tool_choice":{"type":"function","function":{"name":"get_weather"}}"#
            let response = try await client.post("/compat/chat/completions", json: Self.chat(model, extra: extra))
            #expect(response.status == .ok, "\(response.text)")
            let message = response.json["choices"]?[0]?["message"]
            let call = message?["tool_calls"]?[0]
            #expect(call?["type"]?.stringValue == "function")
            #expect(call?["function"]?["name"]?.stringValue == "get_weather")
            let arguments = try (call?["function"]?["arguments"]?.stringValue).map { try JSONValue.parse($0) }
            #expect(arguments?["city"]?.stringValue == "Paris")
            #expect(response.json["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        }
    }

    @Test func translatedRequestsReachTheProviderInItsFormat() async throws {
        try await ProviderHarness.run { client, fake, _ in
            _ = try await client.post("/compat/chat/completions", json: Self.chat("anthropic/claude-sonnet-4-5"))
            _ = try await client.post("/compat/chat/completions", json: Self.chat("google-ai-studio/gemini-2.5-flash", stream: true))
            _ = try await client.post("/compat/chat/completions", json: Self.chat("azure-openai/myres/gpt4o-deploy"))
            let requests = fake.requests()
            #expect(requests.count == 3)
            let anthropic = requests[0]
            #expect(anthropic.path == "/v1/messages")
            #expect(anthropic.header("x-api-key") == ProviderHarness.keys["anthropic"])
            #expect(anthropic.header("anthropic-version") == "2023-06-01")
            #expect(anthropic.header("authorization") == nil)
            let body = try JSONValue.parse(Data(anthropic.body))
            #expect(body["system"] != nil && body["max_tokens"]?.numberValue == 4096)
            #expect(body["model"]?.stringValue == "claude-sonnet-4-5")
            let gemini = requests[1]
            #expect(gemini.uri == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
            #expect(gemini.header("x-goog-api-key") == ProviderHarness.keys["google-ai-studio"])
            let azure = requests[2]
            #expect(azure.uri == "/openai/deployments/gpt4o-deploy/chat/completions?api-version=2024-10-21")
            #expect(azure.header("api-key") == ProviderHarness.keys["azure-openai"])
            #expect(azure.model == "gpt4o-deploy")
        }
    }

    @Test func usageIsLoggedWhenTheClientDidNotAskForIt() async throws {
        try await ProviderHarness.run { client, _, logs in
            for model in ["anthropic/claude-sonnet-4-5", "google-ai-studio/gemini-2.5-flash"] {
                let response = try await client.post("/compat/chat/completions", json: Self.chat(model, stream: true))
                #expect(SSEPayloads(response.text).usage == nil)
                let line = await logs.waitForRequest("/compat/chat/completions")
                #expect(line?.metadata["completion_tokens"] == "5", "\(model)")
                #expect(line?.metadata["model"] == String(model.split(separator: "/", maxSplits: 1)[1]))
            }
        }
    }

    @Test func unsupportedParametersAre400InOpenAIShape() async throws {
        try await ProviderHarness.run { client, fake, _ in
            let cases: [(model: String, extra: String, param: String)] = [
                ("anthropic/claude-sonnet-4-5", #","n":2"#, "n"),
                ("anthropic/claude-sonnet-4-5", #","logprobs":true"#, "logprobs"),
                ("google-ai-studio/gemini-2.5-flash", #","logit_bias":{"50256":-100}"#, "logit_bias"),
                ("google-ai-studio/gemini-2.5-flash", #","functions":[]"#, "functions"),
            ]
            for c in cases {
                let response = try await client.post("/compat/chat/completions", json: Self.chat(c.model, extra: c.extra))
                #expect(response.status == .badRequest, "\(c.model) \(c.param)")
                let error = response.json["error"]
                #expect(error?["param"]?.stringValue == c.param)
                #expect(error?["type"]?.stringValue == "invalid_request_error")
                #expect(error?["code"]?.stringValue?.hasPrefix("unsupported_") == true)
                #expect(error?["message"]?.stringValue?.isEmpty == false)
                #expect(response.json["success"] == nil, "not the gateway's own envelope")
            }
            for model in ["google-ai-studio/../../v1/messages", "google-ai-studio/gemini?alt=x", "google-ai-studio/a b"] {
                let response = try await client.post("/compat/chat/completions", json: Self.chat(model))
                #expect(response.status == .badRequest, "\(model)")
                #expect(response.json["error"]?["param"]?.stringValue == "model")
            }
            #expect(fake.requests().isEmpty, "nothing untranslatable goes upstream")
            let embeddings = try await client.post("/compat/embeddings", json: #"{"model":"anthropic/claude-sonnet-4-5","input":"x"}"#)
            #expect(embeddings.status == .badRequest)
            #expect(embeddings.json["error"]?["param"]?.stringValue == "model")
        }
    }

    @Test(arguments: [
        ("anthropic/claude-sonnet-4-5", 529, "overloaded_error"),
        ("anthropic/claude-sonnet-4-5", 429, "rate_limit_error"),
        ("anthropic/claude-sonnet-4-5", 500, "api_error"),
        ("google-ai-studio/gemini-2.5-flash", 429, "RESOURCE_EXHAUSTED"),
        ("google-ai-studio/gemini-2.5-flash", 500, "INTERNAL"),
        // Workers AI runs on its OpenAI-compatible path: OpenAI's own rate-limit type passes through.
        ("workers-ai/@cf/meta/llama-3.1-8b-instruct", 429, "requests"),
    ])
    func upstreamErrorsKeepTheirStatus(model: String, status: Int, type: String) async throws {
        try await ProviderHarness.run { client, _, _ in
            for stream in [false, true] {
                let response = try await client.post(
                    "/compat/chat/completions", json: Self.chat(model, stream: stream), headers: [HTTPField.Name("x-fake-status")!: "\(status)"]
                )
                #expect(Int(response.status.code) == status)
                #expect(response.header("content-type") == "application/json")
                let error = response.json["error"]
                #expect(error?["type"]?.stringValue == type, "\(response.text)")
                #expect(error?["message"]?.stringValue?.isEmpty == false)
                #expect(error?.objectValue?.keys.sorted() == ["code", "message", "param", "type"])
            }
        }
    }

    @Test func midStreamFailureEndsWithAnErrorPayload() async throws {
        try await ProviderHarness.run { client, _, _ in
            let headers: HTTPFields = [HTTPField.Name("x-fake-reset")!: "mid-stream", HTTPField.Name("x-fake-reset-after-chunks")!: "3"]
            let response = try await client.post("/compat/chat/completions", json: Self.chat("anthropic/claude-sonnet-4-5", stream: true), headers: headers)
            let sse = SSEPayloads(response.text)
            #expect(sse.payloads.last != "[DONE]")
            let last = sse.payloads.last.flatMap { try? JSONValue.parse($0) }
            #expect(last?["error"]?["message"]?.stringValue?.isEmpty == false, "\(response.text)")
        }
    }

    @Test func geminiEmbeddings() async throws {
        try await ProviderHarness.run { client, fake, logs in
            let batch = try await client.post("/compat/embeddings", json: #"{"model":"google-ai-studio/text-embedding-004","input":["alpha","beta"]}"#)
            #expect(batch.status == .ok, "\(batch.text)")
            #expect(batch.json["object"]?.stringValue == "list")
            #expect(batch.json["model"]?.stringValue == "text-embedding-004")
            let data = batch.json["data"]?.arrayValue ?? []
            #expect(data.count == 2)
            #expect(data.map { $0["index"]?.numberValue } == [0, 1])
            #expect(data.allSatisfy { ($0["embedding"]?.arrayValue?.count ?? 0) > 0 })
            #expect(data[0]["embedding"] != data[1]["embedding"])

            let one = try await client.post("/compat/embeddings", json: #"{"model":"google-ai-studio/text-embedding-004","input":"alpha","dimensions":8}"#)
            #expect(one.status == .ok, "\(one.text)")
            let vector = one.json["data"]?[0]?["embedding"]?.arrayValue
            #expect(vector?.count == 8)
            #expect(vector.map { Array(data[0]["embedding"]!.arrayValue!.prefix(8)) == $0 } == true, "same input, same vector")

            let base64 = try await client.post("/compat/embeddings", json: #"{"model":"google-ai-studio/text-embedding-004","input":"alpha","encoding_format":"base64"}"#)
            let encoded = base64.json["data"]?[0]?["embedding"]?.stringValue
            #expect(encoded.flatMap { Data(base64Encoded: $0) }?.count == 4 * (data[0]["embedding"]?.arrayValue?.count ?? -1))

            #expect(fake.requests().map(\.path) == [
                "/v1beta/models/text-embedding-004:batchEmbedContents", "/v1beta/models/text-embedding-004:embedContent",
                "/v1beta/models/text-embedding-004:embedContent",
            ])
            #expect(logs.request("/compat/embeddings") != nil)
        }
    }

    @Test func azureModelWithoutResourceNeedsConfiguration() async throws {
        let fake = try await FakeUpstream.start(FakeUpstreamConfiguration(clock: ProviderHarness.clock))
        defer { Task { try? await fake.shutdown() } }
        var c = try ConfigurationParser.parse("""
            providers:
              azure-openai:
                keys: { default: k }
                api_version: v1
            """, environment: [:])
        c.listen.port = 0
        let app = buildApplication(configuration: c, environment: [:])
        try await app.test(.router) { client in
            let response = try await client.post("/compat/chat/completions", json: Self.chat("azure-openai/only-deployment"))
            #expect(response.status == .badRequest)
            #expect(response.text.contains("needs a resource"))
            let bad = try await client.post("/compat/chat/completions", json: Self.chat("azure-openai/a/b/c"))
            #expect(bad.status == .badRequest)
        }
    }

    @Test func azureConfiguredResourceDeploymentAndV1() async throws {
        try await ProviderHarness.run(azureExtra: "\n    deployment: pinned\n    api_version: 2025-01-01-preview") { client, fake, _ in
            let response = try await client.post("/compat/chat/completions", json: Self.chat("azure-openai/gpt-4o", stream: true, includeUsage: true))
            #expect(response.status == .ok)
            #expect(SSEPayloads(response.text).content == "Echo: hello there")
            #expect(fake.requests().first?.uri == "/openai/deployments/pinned/chat/completions?api-version=2025-01-01-preview")
        }
    }
}

@Suite struct AzureConfigurationTests {
    @Test func azureKeysAreParsedAndChecked() throws {
        let ok = try ConfigurationParser.parse("""
            providers:
              azure-openai:
                resource: my-res
                deployment: gpt4o
                api_version: 2024-10-21
            """, environment: [:])
        #expect(ok.providers["azure-openai"]?.resource == "my-res")
        #expect(ok.providers["azure-openai"]?.deployment == "gpt4o")
        #expect(ok.providers["azure-openai"]?.apiVersion == "2024-10-21")
        #expect(throws: (any Error).self) {
            try ConfigurationParser.parse("providers:\n  azure-openai:\n    resource: \"evil.com/x\"\n", environment: [:])
        }
        #expect(throws: (any Error).self) {
            try ConfigurationParser.parse("providers:\n  anthropic:\n    deployment: x\n", environment: [:])
        }
    }
}
