import Foundation
import NIOCore
import SwitchyardCore

/// The OpenAI-shaped operations of the compat endpoint.
public enum UpstreamOperation: String, Sendable {
    case chatCompletions = "chat/completions"
    case embeddings
}

/// What an adapter needs to build one upstream request.
public struct AdapterRequest: Sendable {
    public var operation: UpstreamOperation
    public var body: JSONObjectBody
    /// The model without the provider prefix.
    public var model: String
    public var stream: Bool
    /// Parameters a route overrides for this model (`set:`).
    public var overrides: [String: JSONValue]

    public init(operation: UpstreamOperation, body: JSONObjectBody, model: String, stream: Bool, overrides: [String: JSONValue] = [:]) {
        self.operation = operation
        self.body = body
        self.model = model
        self.stream = stream
        self.overrides = overrides
    }
}

/// The provider-specific part of an upstream request; the dispatcher adds auth and forwarded headers.
public struct PreparedRequest: Sendable {
    /// Appended to the provider's base URL.
    public var path: String
    public var body: [UInt8]
    public var headers: [(String, String)]
    /// The client did not ask for the usage chunk the gateway requested for itself.
    public var stripUsageChunk: Bool
    /// Replaces the provider's base URL for this request (Azure: the resource named by the model).
    public var baseURL: String?

    public init(path: String, body: [UInt8], headers: [(String, String)] = [], stripUsageChunk: Bool = false, baseURL: String? = nil) {
        self.path = path
        self.body = body
        self.headers = headers
        self.stripUsageChunk = stripUsageChunk
        self.baseURL = baseURL
    }
}

/// Translates between the client's OpenAI format and one provider family's wire format.
/// OpenAI-compatible providers translate nothing; Anthropic and Gemini translate everything.
public protocol ProviderAdapter: Sendable {
    /// Throws `GatewayError` (gateway envelope) or `TranslationError` (the request asks for something
    /// the provider cannot do: answered as an OpenAI-shaped 400 naming the `param`).
    func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws -> PreparedRequest
    /// A successful non-streaming body, as OpenAI's format; nil when the body cannot be understood.
    func translateResponse(_ body: ByteBuffer, request: AdapterRequest) -> ByteBuffer?
    /// An upstream error, as OpenAI's `{"error":{...}}` (the status may be mapped too).
    func translateError(status: Int, body: ByteBuffer, provider: UpstreamProvider) -> (status: Int, body: ByteBuffer)
    func makeStreamTranslator(request: AdapterRequest, prepared: PreparedRequest) -> any StreamTranslator
    /// Path of the model list, if the provider has one in OpenAI's format.
    var modelsPath: String? { get }
}

extension AdapterRequest {
    /// Whether the client asked for the usage chunk of a stream.
    public var clientWantsStreamUsage: Bool { body.value("stream_options")?["include_usage"]?.boolValue == true }
}

/// Turns upstream SSE events into OpenAI chunk payloads (the text after `data: `), incrementally.
public protocol StreamTranslator: Sendable {
    mutating func translate(_ event: SSEEvent) -> [String]
    /// The upstream stream ended cleanly; payloads still owed to the client (such as `[DONE]`).
    mutating func finish() -> [String]
    var usage: Usage? { get }
}

extension AdapterRequest {
    /// The whole OpenAI body with the route's overrides applied, for adapters that rebuild the request.
    public func openAIJSON() throws(TranslationError) -> JSONValue {
        guard var object = (try? JSONValue.parse(bytes: body.bytes))?.objectValue else {
            throw TranslationError(message: "The request body must be a JSON object.", param: nil)
        }
        for (key, value) in overrides where key != "model" { object[key] = value }
        object["model"] = .string(model)
        object["stream"] = .bool(stream)
        return .object(object)
    }

    /// For `created` in translated responses.
    static var now: Int { Int(Date().timeIntervalSince1970) }
}

/// Adapts a provider stream translator (event name + data → OpenAI payloads) to `StreamTranslator`.
struct TranslatingStream<Inner: ProviderStreamTranslator>: StreamTranslator {
    var inner: Inner

    mutating func translate(_ event: SSEEvent) -> [String] { inner.translate(event: event.event, data: event.data) }
    mutating func finish() -> [String] { inner.finish() }
    /// Nil until the provider has reported any tokens (an error before `message_start`, say).
    var usage: Usage? { inner.usage.totalTokens > 0 ? inner.usage : nil }
}

/// What the translation layer's stream translators have in common.
protocol ProviderStreamTranslator: Sendable {
    mutating func translate(event: String?, data: String) -> [String]
    mutating func finish() -> [String]
    var usage: Usage { get }
}

extension AnthropicStreamTranslator: ProviderStreamTranslator {}
extension GeminiStreamTranslator: ProviderStreamTranslator {}
extension WorkersAIStreamTranslator: ProviderStreamTranslator {}

extension JSONValue {
    /// Encoded as the translation layer encodes (stable key order).
    var translatedBuffer: ByteBuffer { ByteBuffer(string: TranslationJSON.encode(self)) }
}
