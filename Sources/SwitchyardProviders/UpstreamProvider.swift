import SwitchyardCore

/// A provider as this gateway instance calls it: the catalogue entry with the configuration's
/// overrides and the keys found at startup. Built once; read-only on the hot path.
public struct UpstreamProvider: Sendable {
    public let slug: String
    public let pathSlug: String
    public let family: ProviderInfo.Family
    /// Without a trailing slash.
    public let baseURL: String
    public let auth: ProviderInfo.AuthStyle
    /// Stored keys by alias (`default` first).
    public let keys: [String: String]
    public let keyVariables: [String]
    public let isCustom: Bool
    /// Why the base URL cannot be used yet (a `{placeholder}` nobody filled), if so.
    public let configurationProblem: String?
    public let adapter: any ProviderAdapter

    public init(
        slug: String, pathSlug: String? = nil, family: ProviderInfo.Family, baseURL: String, auth: ProviderInfo.AuthStyle,
        keys: [String: String], keyVariables: [String], isCustom: Bool, configurationProblem: String? = nil,
        adapter: (any ProviderAdapter)? = nil
    ) {
        self.slug = slug
        self.pathSlug = pathSlug ?? slug
        self.family = family
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.auth = auth
        self.keys = keys
        self.keyVariables = keyVariables
        self.isCustom = isCustom
        self.configurationProblem = configurationProblem
        self.adapter = adapter ?? ProviderAdapters.adapter(for: family)
    }

    /// Custom providers (a local vLLM, Ollama) may need no key at all.
    public var requiresKey: Bool { !isCustom }

    /// The upstream header carrying `key` in this provider's auth style.
    public func authHeader(key: String) -> (name: String, value: String) {
        switch auth {
        case .bearer: ("authorization", "Bearer \(key)")
        case .xAPIKey: ("x-api-key", key)
        case .googAPIKey: ("x-goog-api-key", key)
        case .apiKey: ("api-key", key)
        }
    }

    /// The same provider with another base URL (Azure: the resource named by a passthrough path).
    public func with(baseURL: String) -> UpstreamProvider {
        UpstreamProvider(
            slug: slug, pathSlug: pathSlug, family: family, baseURL: baseURL, auth: auth, keys: keys, keyVariables: keyVariables,
            isCustom: isCustom, configurationProblem: configurationProblem, adapter: adapter
        )
    }

    /// Request headers through which a client may send its own key for this provider.
    public static let credentialHeaders: Set<String> = ["authorization", "x-api-key", "x-goog-api-key", "api-key"]
}

/// Adapters per wire-format family.
public enum ProviderAdapters {
    public static func adapter(for family: ProviderInfo.Family) -> any ProviderAdapter {
        switch family {
        case .openAICompatible: OpenAICompatibleAdapter(chatPath: "/chat/completions", embeddingsPath: "/embeddings", modelsPath: "/models")
        case .workersAI: OpenAICompatibleAdapter(chatPath: "/v1/chat/completions", embeddingsPath: "/v1/embeddings", modelsPath: nil)
        case .anthropic: AnthropicAdapter()
        case .gemini: GeminiAdapter()
        case .azureOpenAI: AzureOpenAIAdapter()
        }
    }
}
