import NIOCore
import SwitchyardCore

/// OpenAI chat completions over Anthropic's Messages API (`POST {base}/v1/messages`).
public struct AnthropicAdapter: ProviderAdapter {
    public static let defaultVersion = "2023-06-01"

    public init() {}

    public func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws -> PreparedRequest {
        guard request.operation == .chatCompletions else {
            throw TranslationError(message: "Provider 'anthropic' has no embeddings API.", param: "model", code: "unsupported_value")
        }
        let body = try AnthropicTranslation.request(from: request.openAIJSON(), model: request.model)
        return PreparedRequest(
            path: "/v1/messages", body: Array(TranslationJSON.encode(body).utf8),
            headers: [("anthropic-version", Self.defaultVersion)]
        )
    }

    public func translateResponse(_ body: ByteBuffer, request: AdapterRequest) -> ByteBuffer? {
        guard let json = try? JSONValue.parse(String(buffer: body)), json.objectValue != nil else { return nil }
        return AnthropicTranslation.response(json, model: request.model, created: AdapterRequest.now).translatedBuffer
    }

    public func translateError(status: Int, body: ByteBuffer, provider: UpstreamProvider) -> (status: Int, body: ByteBuffer) {
        let translated = AnthropicTranslation.error(status: status, body: try? JSONValue.parse(String(buffer: body)))
        return (translated.status, translated.body.translatedBuffer)
    }

    public func makeStreamTranslator(request: AdapterRequest, prepared: PreparedRequest) -> any StreamTranslator {
        TranslatingStream(inner: AnthropicStreamTranslator(model: request.model, includeUsage: request.clientWantsStreamUsage, created: AdapterRequest.now, id: nil))
    }

    public var modelsPath: String? { nil }
}
