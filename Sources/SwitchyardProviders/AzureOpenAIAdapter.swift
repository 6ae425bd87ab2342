import NIOCore
import SwitchyardCore

/// Azure OpenAI: OpenAI's format on deployment-scoped URLs,
/// `{base}/deployments/{deployment}/chat/completions?api-version=…` (or the `v1` API,
/// `{base}/v1/chat/completions`, when `api_version` is `v1`), authenticated with `api-key`.
/// The model is `{resource}/{deployment}` or `{deployment}` with `providers.azure-openai.resource`
/// (or a concrete `base_url`); `providers.azure-openai.deployment` pins every request to one deployment.
public struct AzureOpenAIAdapter: ProviderAdapter {
    public static let defaultAPIVersion = "2024-10-21"
    public let resource: String?
    public let deployment: String?
    public let apiVersion: String
    private let openAI = OpenAICompatibleAdapter(chatPath: "", embeddingsPath: "", modelsPath: nil)

    public init(resource: String? = nil, deployment: String? = nil, apiVersion: String? = nil) {
        self.resource = resource
        self.deployment = deployment
        self.apiVersion = apiVersion ?? Self.defaultAPIVersion
    }

    /// `{resource}` of a base URL filled in; nil when the URL needs one and none is known.
    public static func baseURL(_ template: String, resource: String?) -> String? {
        guard template.contains("{resource}") else { return template }
        guard let resource else { return nil }
        return template.replacingOccurrences(of: "{resource}", with: resource)
    }

    /// Resource and deployment names go into a host and a path: only Azure's own name characters pass.
    public static func isName(_ s: Substring) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    public func prepare(_ request: AdapterRequest, provider: UpstreamProvider) throws -> PreparedRequest {
        let parts = request.model.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy(Self.isName) else {
            throw GatewayError.invalidRequest("azure-openai models are azure-openai/{resource}/{deployment} or azure-openai/{deployment}, got '\(GatewayError.shown("azure-openai/" + request.model))'")
        }
        let resource = parts.count == 2 ? String(parts[0]) : self.resource
        let deployment = self.deployment ?? String(parts[parts.count - 1])
        guard let base = Self.baseURL(provider.baseURL, resource: resource) else {
            throw GatewayError.invalidProvider("provider 'azure-openai' needs a resource: use model azure-openai/{resource}/{deployment}, or set providers.azure-openai.resource or base_url")
        }
        var inner = request
        inner.model = deployment
        var prepared = try openAI.prepare(inner, provider: provider)
        let operation = request.operation.rawValue
        prepared.path = apiVersion == "v1"
            ? "/v1/\(operation)"
            : "/deployments/\(deployment)/\(operation)?api-version=\(apiVersion)"
        prepared.baseURL = base
        return prepared
    }

    public func translateResponse(_ body: ByteBuffer, request: AdapterRequest) -> ByteBuffer? { body }

    public func translateError(status: Int, body: ByteBuffer, provider: UpstreamProvider) -> (status: Int, body: ByteBuffer) {
        (status, OpenAIErrorBody.normalize(status: status, body: body))
    }

    public func makeStreamTranslator(request: AdapterRequest, prepared: PreparedRequest) -> any StreamTranslator {
        AzureStreamTranslator(inner: OpenAIStreamTranslator(stripUsageChunk: prepared.stripUsageChunk))
    }

    public var modelsPath: String? { nil }
}

/// Azure's stream with the chunks that break OpenAI clients removed: the leading
/// `{"choices":[],"prompt_filter_results":[…]}` and filter-only chunks without a `delta`.
struct AzureStreamTranslator: StreamTranslator {
    var inner: OpenAIStreamTranslator

    mutating func translate(_ event: SSEEvent) -> [String] {
        inner.translate(event).compactMap { payload in
            guard payload.contains("_filter_results\""), let chunk = try? JSONValue.parse(payload), var object = chunk.objectValue else {
                return payload
            }
            let choices = object["choices"]?.arrayValue ?? []
            if choices.isEmpty { return object["usage"]?.objectValue == nil ? nil : payload }
            let kept = choices.filter { $0["delta"] != nil || $0["finish_reason"]?.stringValue != nil }
            if kept.isEmpty { return nil }
            object["choices"] = .array(kept.map { choice in
                guard var c = choice.objectValue else { return choice }
                if c["delta"] == nil { c["delta"] = .object([:]) }
                return .object(c)
            })
            return TranslationJSON.encode(.object(object))
        }
    }

    mutating func finish() -> [String] { inner.finish() }
    var usage: Usage? { inner.usage }
}
