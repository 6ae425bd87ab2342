import Foundation
import NIOCore
import SwitchyardCore

/// Adapters for providers with their own wire format (Anthropic Messages, Gemini): the body is
/// decoded into a tree (translation needs one), translated by the pure functions of `Translation/`,
/// and the answer or stream translated back into OpenAI's format.
struct AnthropicAdapter: ProviderAdapter {
    var modelsPath: String? { nil }

    func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws(GatewayError) -> PreparedRequest {
        guard request.operation == .chatCompletions else {
            throw .invalidRequest("provider '\(provider.slug)' has no embeddings endpoint")
        }
        let openAI = try TranslatedBody.openAI(request)
        let body: JSONValue
        do {
            body = try AnthropicTranslation.request(from: openAI, model: request.model)
        } catch {
            throw .invalidRequest(error.message)
        }
        return PreparedRequest(path: "/v1/messages", body: Array(TranslationJSON.encode(body).utf8), headers: [("anthropic-version", "2023-06-01")])
    }

    func translateResponse(_ body: ByteBuffer, request: AdapterRequest) -> ByteBuffer? {
        guard let json = try? JSONValue.parse(Data(body.readableBytesView)), json.objectValue != nil else { return nil }
        return ByteBuffer(string: TranslationJSON.encode(AnthropicTranslation.response(json, model: request.model, created: TranslatedBody.now())))
    }

    func translateError(status: Int, body: ByteBuffer, provider: UpstreamProvider) -> (status: Int, body: ByteBuffer) {
        let translated = AnthropicTranslation.error(status: status, body: try? JSONValue.parse(Data(body.readableBytesView)))
        return (translated.status, ByteBuffer(string: TranslationJSON.encode(translated.body)))
    }

    func makeStreamTranslator(request: AdapterRequest, prepared: PreparedRequest) -> any StreamTranslator {
        AnthropicStream(inner: AnthropicStreamTranslator(model: request.model, includeUsage: request.clientWantsStreamUsage, created: TranslatedBody.now(), id: nil))
    }
}

struct GeminiAdapter: ProviderAdapter {
    var modelsPath: String? { nil }

    func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws(GatewayError) -> PreparedRequest {
        let openAI = try TranslatedBody.openAI(request)
        let translated: GeminiRequest
        do {
            translated = request.operation == .chatCompletions
                ? try GeminiTranslation.request(from: openAI, model: request.model)
                : try GeminiTranslation.embeddingsRequest(from: openAI, model: request.model)
        } catch {
            throw .invalidRequest(error.message)
        }
        return PreparedRequest(path: "/" + translated.path, body: Array(TranslationJSON.encode(translated.body).utf8))
    }

    func translateResponse(_ body: ByteBuffer, request: AdapterRequest) -> ByteBuffer? {
        guard let json = try? JSONValue.parse(Data(body.readableBytesView)), json.objectValue != nil else { return nil }
        let openAI = request.operation == .chatCompletions
            ? GeminiTranslation.response(json, model: request.model, created: TranslatedBody.now())
            : GeminiTranslation.embeddingsResponse(json, model: request.model, encodingFormat: request.body.value("encoding_format")?.stringValue ?? "float")
        return ByteBuffer(string: TranslationJSON.encode(openAI))
    }

    func translateError(status: Int, body: ByteBuffer, provider: UpstreamProvider) -> (status: Int, body: ByteBuffer) {
        let translated = GeminiTranslation.error(status: status, body: try? JSONValue.parse(Data(body.readableBytesView)))
        return (translated.status, ByteBuffer(string: TranslationJSON.encode(translated.body)))
    }

    func makeStreamTranslator(request: AdapterRequest, prepared: PreparedRequest) -> any StreamTranslator {
        GeminiStream(inner: GeminiStreamTranslator(model: request.model, includeUsage: request.clientWantsStreamUsage, created: TranslatedBody.now(), id: nil))
    }
}

struct AnthropicStream: StreamTranslator {
    var inner: AnthropicStreamTranslator
    var usage: Usage? { inner.usage }
    mutating func translate(_ event: SSEEvent) -> [String] { inner.translate(event: event.event, data: event.data) }
    mutating func finish() -> [String] { inner.finish() }
}

struct GeminiStream: StreamTranslator {
    var inner: GeminiStreamTranslator
    var usage: Usage? { inner.usage }
    mutating func translate(_ event: SSEEvent) -> [String] { inner.translate(event: event.event, data: event.data) }
    mutating func finish() -> [String] { inner.finish() }
}

enum TranslatedBody {
    /// The client's body as a tree, with the route's overrides applied.
    static func openAI(_ request: AdapterRequest) throws(GatewayError) -> JSONValue {
        guard var object = (try? JSONValue.parse(Data(request.body.bytes)))?.objectValue else {
            throw .invalidRequest("request body is not a JSON object")
        }
        for (key, value) in request.overrides where key != "model" { object[key] = value }
        object["model"] = .string(request.model)
        return .object(object)
    }

    static func now() -> Int { Int(Date().timeIntervalSince1970) }
}
