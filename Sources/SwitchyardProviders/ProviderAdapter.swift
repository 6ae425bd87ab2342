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

    public init(path: String, body: [UInt8], headers: [(String, String)] = [], stripUsageChunk: Bool = false) {
        self.path = path
        self.body = body
        self.headers = headers
        self.stripUsageChunk = stripUsageChunk
    }
}

/// Translates between the client's OpenAI format and one provider family's wire format.
/// OpenAI-compatible providers translate nothing; Anthropic and Gemini translate everything.
public protocol ProviderAdapter: Sendable {
    func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws(GatewayError) -> PreparedRequest
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

/// Families whose translation adapters are not written yet: passthrough works, compat does not.
struct UnsupportedAdapter: ProviderAdapter {
    let family: ProviderInfo.Family

    func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws(GatewayError) -> PreparedRequest {
        throw .invalidProvider("provider '\(provider.slug)' (\(family.rawValue) format) is not available on the compat endpoint yet; use the passthrough path /\(provider.pathSlug)/...")
    }
    func translateResponse(_ body: ByteBuffer, request: AdapterRequest) -> ByteBuffer? { body }
    func translateError(status: Int, body: ByteBuffer, provider: UpstreamProvider) -> (status: Int, body: ByteBuffer) {
        (status, OpenAIErrorBody.normalize(status: status, body: body))
    }
    func makeStreamTranslator(request: AdapterRequest, prepared: PreparedRequest) -> any StreamTranslator { OpenAIStreamTranslator(stripUsageChunk: false) }
    var modelsPath: String? { nil }
}
