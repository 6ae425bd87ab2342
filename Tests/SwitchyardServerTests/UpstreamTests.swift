import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import Testing

@testable import SwitchyardServer

/// The gateway against `FakeUpstream`: forwarding rules, streaming, cancellation, errors.
@Suite struct UpstreamTests {
    static let storedKey = "sk-stored-openai"
    static let token = "gw-token"

    static func yaml(_ upstream: FakeUpstream, extra: String = "") -> String {
        """
        gateways:
          default: { tokens: [\(token)] }
        providers:
          openai: { base_url: "\(upstream.openAIBaseURL)", keys: { default: \(storedKey), team-b: sk-team-b } }
          groq: { base_url: "\(upstream.openAIBaseURL)", keys: { default: gsk-stored } }
          workers-ai: { base_url: "\(upstream.baseURL)", keys: { default: cf-token } }
          my-vllm: { kind: openai-compatible, base_url: "\(upstream.openAIBaseURL)" }
          anthropic: { base_url: "\(upstream.baseURL)", keys: { default: sk-ant-stored } }
          google-ai-studio: { base_url: "\(upstream.baseURL)", keys: { default: AIza-stored } }
        \(extra)
        """
    }

    func withGateway(
        _ fake: FakeUpstreamConfiguration = .init(), extraYAML: String = "", testing: TestingSetup = .router,
        _ body: @Sendable (FakeUpstream, any TestClientProtocol) async throws -> Void
    ) async throws {
        let upstream = try await FakeUpstream.start(fake)
        do {
            var configuration = try ConfigurationParser.parse(Self.yaml(upstream, extra: extraYAML), environment: [:])
            configuration.listen.port = 0
            let app = buildApplication(configuration: configuration, environment: [:])
            try await app.test(testing) { client in try await body(upstream, client) }
        } catch {
            try? await upstream.shutdown()
            throw error
        }
        try await upstream.shutdown()
    }

    static func chat(_ model: String, stream: Bool = false, extra: String = "") -> ByteBuffer {
        ByteBuffer(string: #"{"model":"\#(model)","messages":[{"role":"user","content":"hello"}],"stream":\#(stream)\#(extra)}"#)
    }

    static func json(_ buffer: ByteBuffer) throws -> JSONValue { try JSONValue.parse(Data(buffer.readableBytesView)) }

    static func events(_ buffer: ByteBuffer) -> [String] {
        var parser = SSEEventDecoder()
        var events = parser.feed(buffer.readableBytesView).map(\.data)
        events += parser.finish().map(\.data)
        return events
    }

    // MARK: Forwarding

    @Test func chatCompletionForwardsOnlyWhatItShould() async throws {
        try await withGateway { upstream, client in
            let headers: HTTPFields = [
                HTTPField.Name("cf-aig-metadata")!: #"{"user":"u1"}"#,
                HTTPField.Name("cf-aig-event-id")!: "evt-42",
                HTTPField.Name("x-custom")!: "kept",
                HTTPField.Name("keep-alive")!: "timeout=5",
                HTTPField.Name("openai-organization")!: "org-1",
            ]
            try await client.execute(uri: "/v1/acct/default/compat/chat/completions", method: .post, headers: headers, body: Self.chat("openai/gpt-4o-mini")) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response.body)
                #expect(body["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue?.contains("hello") == true)
                #expect(response.headers[HTTPField.Name("cf-aig-provider")!] == "openai")
                #expect(response.headers[HTTPField.Name("cf-aig-model")!] == "gpt-4o-mini")
                #expect(response.headers[HTTPField.Name("cf-aig-step")!] == "0")
                #expect(response.headers[HTTPField.Name("cf-aig-event-id")!] == "evt-42")
                #expect(response.headers[HTTPField.Name("cf-aig-cache-status")!] == "MISS")
            }
            let request = try #require(upstream.requests().last)
            #expect(request.path == "/v1/chat/completions")
            #expect(request.model == "gpt-4o-mini")
            #expect(request.header("authorization") == "Bearer \(Self.storedKey)")
            #expect(request.header("x-custom") == "kept")
            #expect(request.header("openai-organization") == "org-1")
            #expect(request.header("keep-alive") == nil)
            #expect(!request.headers.contains { $0.name.lowercased().hasPrefix("cf-aig-") })
            #expect(request.header("content-length") == String(request.body.count))
            // Everything but `model` is copied byte for byte.
            #expect(request.bodyText == #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}],"stream":false}"#)
        }
    }

    @Test func gatewayTokenIsNeverForwardedAndTheStoredKeyIsUsed() async throws {
        try await withGateway { upstream, client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [.authorization: "Bearer \(Self.token)"], body: Self.chat("openai/gpt-4o")) { response in
                #expect(response.status == .ok)
            }
            #expect(upstream.requests().last?.header("authorization") == "Bearer \(Self.storedKey)")
            try await client.execute(uri: "/openai/chat/completions", method: .post, headers: [.authorization: "Bearer \(Self.token)"], body: Self.chat("gpt-4o")) { response in
                #expect(response.status == .ok)
            }
            #expect(upstream.requests().last?.header("authorization") == "Bearer \(Self.storedKey)")
        }
    }

    @Test func clientKeyIsForwardedUnchanged() async throws {
        try await withGateway { upstream, client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [.authorization: "Bearer sk-client"], body: Self.chat("openai/gpt-4o")) { _ in }
            #expect(upstream.requests().last?.header("authorization") == "Bearer sk-client")
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [HTTPField.Name("cf-aig-byok-alias")!: "team-b"], body: Self.chat("openai/gpt-4o")) { _ in }
            #expect(upstream.requests().last?.header("authorization") == "Bearer sk-team-b")
        }
    }

    @Test func customAndWorkersAIProviders() async throws {
        try await withGateway { upstream, client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("my-vllm/qwen")) { response in
                #expect(response.status == .ok)
            }
            #expect(upstream.requests().last?.model == "qwen")
            #expect(upstream.requests().last?.header("authorization") == nil)
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast")) { response in
                #expect(response.status == .ok)
            }
            #expect(upstream.requests().last?.path == "/v1/chat/completions")
            #expect(upstream.requests().last?.model == "@cf/meta/llama-3.3-70b-instruct-fp8-fast")
            #expect(upstream.requests().last?.header("authorization") == "Bearer cf-token")
        }
    }

    @Test func embeddingsAndModels() async throws {
        try await withGateway { upstream, client in
            try await client.execute(uri: "/compat/embeddings", method: .post, body: ByteBuffer(string: #"{"model":"openai/text-embedding-3-small","input":["a","b"]}"#)) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response.body)
                #expect(body["data"]?.arrayValue?.count == 2)
            }
            #expect(upstream.requests().last?.path == "/v1/embeddings")
            try await client.execute(uri: "/compat/models", method: .get) { response in
                #expect(response.status == .ok)
                let ids = try Self.json(response.body)["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                #expect(ids.contains { $0.hasPrefix("openai/") })
                #expect(ids.contains { $0.hasPrefix("groq/") })
                #expect(ids.contains { $0.hasPrefix("my-vllm/") })
            }
        }
    }

    @Test func passthroughKeepsPathQueryAndBody() async throws {
        try await withGateway { upstream, client in
            let body = #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#
            try await client.execute(uri: "/v1/a/default/openai/v1/chat/completions?trace=1", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("cf-aig-provider")!] == "openai")
            }
            let request = try #require(upstream.requests().last)
            #expect(request.uri == "/v1/chat/completions?trace=1")
            #expect(request.bodyText == body)
            #expect(request.header("authorization") == "Bearer \(Self.storedKey)")
            // A credential of the client's own is not replaced.
            try await client.execute(uri: "/groq/chat/completions", method: .post, headers: [HTTPField.Name("x-api-key")!: "own"], body: ByteBuffer(string: body)) { _ in }
            #expect(upstream.requests().last?.header("x-api-key") == "own")
            #expect(upstream.requests().last?.header("authorization") == nil)
        }
    }

    // MARK: Errors

    @Test func upstreamErrorsAreNormalisedOnCompatAndUnchangedOnPassthrough() async throws {
        try await withGateway { upstream, client in
            let headers: HTTPFields = [HTTPField.Name("x-fake-status")!: "429", HTTPField.Name("x-fake-retry-after")!: "7"]
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: headers, body: Self.chat("openai/gpt-4o")) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "7")
                let error = try #require(try Self.json(response.body)["error"]?.objectValue)
                #expect(Set(error.keys) == ["message", "type", "param", "code"])
            }
            var direct: String?
            try await client.execute(uri: "/openai/chat/completions", method: .post, headers: headers, body: Self.chat("gpt-4o")) { response in
                #expect(response.status == .tooManyRequests)
                direct = String(buffer: response.body)
            }
            let raw = try await HTTPClient.shared.execute(HTTPClientRequest(url: upstream.openAIBaseURL + "/chat/completions").with(headers: ["x-fake-status": "429"], body: Self.chat("gpt-4o")), timeout: .seconds(5))
            #expect(direct == String(buffer: try await raw.body.collect(upTo: 1 << 20)))
        }
    }

    @Test func topLevelErrorShapesAreWrapped() {
        let body = OpenAIErrorBody.normalize(status: 400, body: ByteBuffer(string: #"{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}"#))
        #expect(String(buffer: body) == #"{"error":{"code":400,"message":"bad","param":null,"type":"BadRequestError"}}"#)
        let text = OpenAIErrorBody.normalize(status: 502, body: ByteBuffer(string: "Bad Gateway"))
        #expect(String(buffer: text) == #"{"error":{"code":null,"message":"Bad Gateway","param":null,"type":"server_error"}}"#)
    }

    @Test func timeoutToFirstByteIs504() async throws {
        try await withGateway { _, client in
            let headers: HTTPFields = [HTTPField.Name("x-fake-latency-ms")!: "3000", HTTPField.Name("cf-aig-request-timeout")!: "200"]
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: headers, body: Self.chat("groq/llama")) { response in
                #expect(response.status == .gatewayTimeout)
                let e = try Self.json(response.body)
                #expect(e["internalCode"] == .number(2044))
                #expect(e["message"]?.stringValue?.contains("'groq'") == true)
            }
        }
    }

    @Test func resetBeforeFirstByteIs502() async throws {
        try await withGateway { _, client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [HTTPField.Name("x-fake-reset")!: "before-first-byte"], body: Self.chat("openai/gpt-4o")) { response in
                #expect(response.status == .badGateway)
                let body = try Self.json(response.body)
                #expect(body["internalCode"] == .number(2005))
            }
        }
    }

    @Test func retriesFollowTheHeaders() async throws {
        try await withGateway(FakeUpstreamConfiguration(perModel: ["flaky": FakeBehavior(failFirst: 2, failStatus: 503)])) { upstream, client in
            let headers: HTTPFields = [HTTPField.Name("cf-aig-max-attempts")!: "3", HTTPField.Name("cf-aig-retry-delay")!: "10"]
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: headers, body: Self.chat("openai/flaky")) { response in
                #expect(response.status == .ok)
            }
            #expect(upstream.requests().count == 3)
        }
    }

    // MARK: Streaming

    @Test func usageChunkTheClientDidNotAskForIsStripped() async throws {
        try await withGateway { upstream, client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("openai/gpt-4o", stream: true)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = Self.events(response.body)
                #expect(events.last == "[DONE]")
                #expect(events.count > 2)
                for event in events.dropLast() {
                    let chunk = try JSONValue.parse(event)
                    #expect(chunk["usage"] == nil || chunk["usage"] == .null)
                    #expect(chunk["choices"]?.arrayValue?.isEmpty == false)
                }
            }
            let sent = try JSONValue.parse(Data(try #require(upstream.requests().last).body))
            #expect(sent["stream_options"]?["include_usage"] == .bool(true))

            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("openai/gpt-4o", stream: true, extra: #","stream_options":{"include_usage":true}"#)) { response in
                let events = Self.events(response.body)
                #expect(events.last == "[DONE]")
                let usageChunk = try JSONValue.parse(events[events.count - 2])
                #expect(usageChunk["choices"] == .array([]))
                #expect((usageChunk["usage"]?["total_tokens"]?.numberValue ?? 0) > 0)
            }
        }
    }

    @Test func midStreamResetEndsWithAnErrorEvent() async throws {
        try await withGateway { _, client in
            let headers: HTTPFields = [HTTPField.Name("x-fake-reset")!: "mid-stream", HTTPField.Name("x-fake-reset-after-chunks")!: "2"]
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: headers, body: Self.chat("openai/gpt-4o", stream: true)) { response in
                #expect(response.status == .ok)
                let events = Self.events(response.body)
                // An RST may discard bytes the gateway had not read yet, so the count of events before the error varies.
                #expect((1...3).contains(events.count))
                #expect(!events.contains("[DONE]"))
                let last = try JSONValue.parse(try #require(events.last))
                #expect(last["error"]?["message"]?.stringValue?.contains("'openai'") == true)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func chunksAreForwardedAsTheyArrive() async throws {
        let slow = FakeUpstreamConfiguration(defaults: FakeBehavior(chunkIntervalMs: 500, chunks: 3))
        try await withGateway(slow, testing: .live) { upstream, client in
            let port = try #require(client.port)
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/compat/chat/completions")
            request.method = .POST
            request.body = .bytes(Self.chat("openai/gpt-4o", stream: true))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(response.status == .ok)
            var parser = SSEEventDecoder()
            var firstContentAt: ContinuousClock.Instant?
            var completedWhenFirstArrived: Int?
            var contents = 0
            for try await buffer in response.body {
                for event in parser.feed(buffer.readableBytesView) where event.data.contains("\"content\":\"") {
                    contents += 1
                    if firstContentAt == nil {
                        firstContentAt = .now
                        completedWhenFirstArrived = upstream.counters.completedStreams
                    }
                }
            }
            let end = ContinuousClock.now
            #expect(contents >= 3)
            // The upstream had not finished its stream when the first piece reached the client,
            // and the rest arrived at the upstream's pace, not all at once.
            #expect(completedWhenFirstArrived == 0)
            #expect(end - (firstContentAt ?? end) >= .milliseconds(800))
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func clientDisconnectCancelsTheUpstreamRequest() async throws {
        // Events 3 s apart: only inbound-close detection (not a failing write) can cancel before the
        // next event; 2.5 s leaves room for a loaded machine and still proves it.
        let slow = FakeUpstreamConfiguration(defaults: FakeBehavior(chunkIntervalMs: 3000, chunks: 5))
        try await withGateway(slow, testing: .live) { upstream, client in
            let port = try #require(client.port)
            let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            let reading = Task {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/compat/chat/completions")
                request.method = .POST
                request.body = .bytes(Self.chat("openai/gpt-4o", stream: true))
                let response = try await httpClient.execute(request, timeout: .seconds(30))
                for try await _ in response.body { return }
            }
            try await reading.value
            // The first chunk arrived; now the client goes away.
            try await httpClient.shutdown()
            let disconnected = ContinuousClock.now
            #expect(await upstream.waitForCancelledStream(timeout: .milliseconds(2500)))
            #expect(ContinuousClock.now - disconnected < .milliseconds(2500))
            #expect(upstream.counters.completedStreams == 0)
        }
    }
}

extension HTTPClientRequest {
    func with(headers: [String: String], body: ByteBuffer) -> HTTPClientRequest {
        var copy = self
        copy.method = .POST
        for (name, value) in headers { copy.headers.add(name: name, value: value) }
        copy.body = .bytes(body)
        return copy
    }
}

extension UpstreamTests {
    @Test func malformedUpstreamBodyIs502() async throws {
        try await withGateway { _, client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [HTTPField.Name("x-fake-malformed")!: "true"], body: Self.chat("openai/gpt-4o")) { response in
                #expect(response.status == .badGateway)
                let body = try Self.json(response.body)
                #expect(body["internalCode"] == .number(2005))
            }
        }
    }
}

extension UpstreamTests {
    @Test func passthroughStreamsTheProviderBytesUnchanged() async throws {
        try await withGateway { upstream, client in
            let body = #"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
            var viaGateway: String?
            try await client.execute(uri: "/openai/chat/completions", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/event-stream") == true)
                viaGateway = String(buffer: response.body)
            }
            // No stream_options were added on passthrough: the body went out as it came.
            #expect(upstream.requests().last?.bodyText == body)
            let events = Self.events(ByteBuffer(string: viaGateway ?? ""))
            #expect(events.last == "[DONE]")
            #expect(!events.contains { $0.contains("\"usage\":{") })
            // The bytes are the provider's own: the same request straight to the fake upstream gives
            // the same text, but for the per-request id and timestamp.
            let raw = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: upstream.openAIBaseURL + "/chat/completions").with(headers: [:], body: ByteBuffer(string: body)), timeout: .seconds(5)
            )
            let direct = String(buffer: try await raw.body.collect(upTo: 1 << 20))
            func normalised(_ text: String) -> String {
                text.replacing(/chatcmpl-fake-\d+/, with: "ID").replacing(/"created":\d+/, with: #""created":T"#)
            }
            #expect(direct.contains("data: "))
            #expect(normalised(viaGateway ?? "") == normalised(direct))
        }
    }
}

/// Anthropic and Gemini behind the compat endpoint: translated both ways, streams included.
extension UpstreamTests {
    static func content(_ events: [String]) throws -> String {
        try events.dropLast().compactMap { e -> String? in
            try JSONValue.parse(e)["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue
        }.joined()
    }

    @Test func anthropicThroughCompat() async throws {
        try await withGateway { upstream, client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("anthropic/claude-sonnet-4-5")) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response.body)
                #expect(body["object"] == .string("chat.completion"))
                #expect(body["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue?.contains("hello") == true)
                #expect((body["usage"]?["total_tokens"]?.numberValue ?? 0) > 0)
                #expect(response.headers[HTTPField.Name("cf-aig-provider")!] == "anthropic")
            }
            let request = try #require(upstream.requests().last)
            #expect(request.path == "/v1/messages")
            #expect(request.header("x-api-key") == "sk-ant-stored")
            #expect(request.header("anthropic-version") == "2023-06-01")
            #expect(request.header("authorization") == nil)
            #expect(request.model == "claude-sonnet-4-5")

            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("anthropic/claude-sonnet-4-5", stream: true)) { response in
                #expect(response.headers[.contentType] == "text/event-stream")
                let events = Self.events(response.body)
                #expect(events.last == "[DONE]")
                let text = try Self.content(events)
                #expect(text.contains("hello"))
                #expect(!events.contains { $0.contains("\"usage\":{") })
            }
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [HTTPField.Name("x-fake-status")!: "529"], body: Self.chat("anthropic/claude-sonnet-4-5")) { response in
                #expect(response.status.code == 529)
                let error = try #require(try Self.json(response.body)["error"]?.objectValue)
                #expect(error["type"] == .string("overloaded_error"))
            }
        }
    }

    @Test func geminiThroughCompat() async throws {
        try await withGateway { upstream, client in
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("google-ai-studio/gemini-2.5-flash")) { response in
                #expect(response.status == .ok)
                let body = try Self.json(response.body)
                #expect(body["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue?.contains("hello") == true)
            }
            let request = try #require(upstream.requests().last)
            #expect(request.path == "/v1beta/models/gemini-2.5-flash:generateContent")
            #expect(request.header("x-goog-api-key") == "AIza-stored")
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("google-ai-studio/gemini-2.5-flash", stream: true, extra: #","stream_options":{"include_usage":true}"#)) { response in
                let events = Self.events(response.body)
                #expect(events.last == "[DONE]")
                let text = try Self.content(events)
                #expect(text.contains("hello"))
                let usage = try JSONValue.parse(events[events.count - 2])
                #expect((usage["usage"]?["total_tokens"]?.numberValue ?? 0) > 0)
            }
            #expect(upstream.requests().last?.uri == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        }
    }
}

extension UpstreamTests {
    @Test func metricsCountRequestsAndTokens() async throws {
        try await withGateway { _, client in
            var usage: JSONValue?
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("openai/gpt-4o")) { response in
                #expect(response.status == .ok)
                usage = try Self.json(response.body)["usage"]
            }
            let prompt = try #require(usage?["prompt_tokens"]?.numberValue), completion = try #require(usage?["completion_tokens"]?.numberValue)
            #expect(prompt > 0 && completion > 0)
            try await client.execute(uri: "/compat/chat/completions", method: .post, body: ByteBuffer(string: "{}")) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                let text = String(buffer: response.body)
                #expect(text.contains(#"switchyard_requests_total{endpoint="compat/chat/completions",provider="openai",status="200"} 1"#), "\(text)")
                #expect(text.contains(#"switchyard_requests_total{endpoint="compat/chat/completions",provider="none",status="400"} 1"#))
                let metrics = try PrometheusText(text)
                #expect(metrics.sum("switchyard_tokens_total", ["provider": "openai", "type": "prompt"]) == prompt)
                #expect(metrics.sum("switchyard_tokens_total", ["provider": "openai", "type": "completion"]) == completion)
                #expect(text.contains("switchyard_request_duration_seconds_bucket"))
            }
        }
    }
}

extension UpstreamTests {
    @Test func universalEndpointFallsBackStepByStep() async throws {
        try await withGateway { upstream, client in
            let steps = """
                [
                  {"provider":"openai","endpoint":"chat/completions","headers":{"x-fake-status":"500","Authorization":"Bearer sk-step"},
                   "query":{"model":"gpt-4o","messages":[{"role":"user","content":"hello"}]},"config":{"maxAttempts":2,"retryDelay":0}},
                  {"provider":"groq","endpoint":"chat/completions","query":{"model":"llama","messages":[{"role":"user","content":"hello"}]}}
                ]
                """
            try await client.execute(uri: "/v1/acct/default", method: .post, body: ByteBuffer(string: steps)) { response in
                #expect(response.status == .ok)
                #expect(response.headers[HTTPField.Name("cf-aig-step")!] == "1")
                #expect(response.headers[HTTPField.Name("cf-aig-provider")!] == "groq")
                let body = try Self.json(response.body)
                #expect(body["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue?.contains("hello") == true)
            }
            let requests = upstream.requests()
            #expect(requests.map(\.model) == ["gpt-4o", "gpt-4o", "llama"])
            #expect(requests[0].header("authorization") == "Bearer sk-step")
            #expect(requests[2].header("authorization") == "Bearer gsk-stored")
            #expect(requests.allSatisfy { $0.path == "/v1/chat/completions" })

            let failing = #"{"provider":"openai","endpoint":"chat/completions","headers":{"x-fake-status":"429"},"query":{"model":"gpt-4o","messages":[]}}"#
            try await client.execute(uri: "/v1/acct/default", method: .post, body: ByteBuffer(string: failing)) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[HTTPField.Name("cf-aig-step")!] == "0")
            }
        }
    }
}

extension UpstreamTests {
    /// Error bodies that are not OpenAI's `{"error":{...}}` (vLLM's top-level shape, a proxy's plain
    /// text) reach compat clients wrapped in it; passthrough clients get them as they came.
    @Test func compatWrapsOtherErrorShapesEndToEnd() async throws {
        let router = Router()
        router.post("**") { request, _ -> Response in
            if request.uri.path.hasSuffix("/plain/chat/completions") {
                return Response(status: .badGateway, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "Bad Gateway")))
            }
            let vllm = #"{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}"#
            return Response(status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: vllm)))
        }
        let upstream = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await upstream.test(.live) { upstreamClient in
            let port = try #require(upstreamClient.port)
            var configuration = try ConfigurationParser.parse("""
                providers:
                  my-vllm: { kind: openai-compatible, base_url: "http://127.0.0.1:\(port)/v1" }
                  my-proxy: { kind: openai-compatible, base_url: "http://127.0.0.1:\(port)/plain" }
                """, environment: [:])
            configuration.listen.port = 0
            try await buildApplication(configuration: configuration, environment: [:]).test(.router) { client in
                try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("my-vllm/qwen")) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body) == #"{"error":{"code":400,"message":"bad","param":null,"type":"BadRequestError"}}"#)
                }
                try await client.execute(uri: "/compat/chat/completions", method: .post, body: Self.chat("my-proxy/qwen")) { response in
                    #expect(response.status == .badGateway)
                    #expect(String(buffer: response.body) == #"{"error":{"code":null,"message":"Bad Gateway","param":null,"type":"server_error"}}"#)
                }
                try await client.execute(uri: "/my-vllm/chat/completions", method: .post, body: Self.chat("qwen")) { response in
                    #expect(String(buffer: response.body) == #"{"object":"error","message":"bad","type":"BadRequestError","param":null,"code":400}"#)
                }
            }
        }
    }
}
