import NIOCore
import SwitchyardCore

/// OpenAI chat completions and embeddings over Google AI Studio's `generateContent`,
/// `streamGenerateContent?alt=sse`, `embedContent` and `batchEmbedContents`.
public struct GeminiAdapter: ProviderAdapter {
    public init() {}

    public func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws -> PreparedRequest {
        // The model becomes a path segment: nothing that could leave it or start a query.
        guard !request.model.isEmpty, !request.model.contains(where: { "?#%\\:".contains($0) || $0.isWhitespace || !$0.isASCII }),
              !request.model.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw TranslationError(message: "'\(request.model)' is not a Gemini model id.", param: "model", code: "invalid_value")
        }
        let openAI = try request.openAIJSON()
        let translated = switch request.operation {
        case .chatCompletions: try GeminiTranslation.request(from: openAI, model: request.model)
        case .embeddings: try GeminiTranslation.embeddingsRequest(from: openAI, model: request.model)
        }
        return PreparedRequest(path: "/" + translated.path, body: Array(TranslationJSON.encode(translated.body).utf8))
    }

    public func translateResponse(_ body: ByteBuffer, request: AdapterRequest) -> ByteBuffer? {
        guard let json = try? JSONValue.parse(String(buffer: body)), json.objectValue != nil else { return nil }
        switch request.operation {
        case .chatCompletions:
            return GeminiTranslation.response(json, model: request.model, created: AdapterRequest.now).translatedBuffer
        case .embeddings:
            let format = request.body.value("encoding_format")?.stringValue ?? "float"
            return GeminiTranslation.embeddingsResponse(json, model: request.model, encodingFormat: format).translatedBuffer
        }
    }

    public func translateError(status: Int, body: ByteBuffer, provider: UpstreamProvider) -> (status: Int, body: ByteBuffer) {
        let translated = GeminiTranslation.error(status: status, body: try? JSONValue.parse(String(buffer: body)))
        return (translated.status, translated.body.translatedBuffer)
    }

    public func makeStreamTranslator(request: AdapterRequest, prepared: PreparedRequest) -> any StreamTranslator {
        TranslatingStream(inner: GeminiStreamTranslator(model: request.model, includeUsage: request.clientWantsStreamUsage, created: AdapterRequest.now, id: nil))
    }

    public var modelsPath: String? { nil }
}
