/// The built-in providers: slugs, wire-format family, default base URL, auth header style and the
/// conventional environment variable holding the key. Pure data; adapters and config read it.
public struct ProviderInfo: Sendable, Hashable {
    public enum Family: String, Sendable, Hashable {
        /// OpenAI's chat-completions wire format.
        case openAICompatible = "openai-compatible"
        case anthropic
        case gemini
        case workersAI = "workers-ai"
        case azureOpenAI = "azure-openai"
    }

    public enum AuthStyle: Sendable, Hashable {
        /// `Authorization: Bearer <key>`
        case bearer
        /// `x-api-key: <key>` (Anthropic)
        case xAPIKey
        /// `x-goog-api-key: <key>` (Gemini)
        case googAPIKey
        /// `api-key: <key>` (Azure OpenAI)
        case apiKey
    }

    /// The model prefix (`perplexity/...`).
    public let slug: String
    /// The path segment of passthrough URLs (`/perplexity-ai/...`); usually the slug.
    public let pathSlug: String
    public let family: Family
    /// Default base URL; `{account_id}` is replaced from `CLOUDFLARE_ACCOUNT_ID` for Workers AI.
    public let defaultBaseURL: String
    public let auth: AuthStyle
    /// Environment variables that may hold the key, first found wins.
    public let keyVariables: [String]

    public init(slug: String, pathSlug: String? = nil, family: Family, defaultBaseURL: String, auth: AuthStyle, keyVariables: [String]) {
        self.slug = slug
        self.pathSlug = pathSlug ?? slug
        self.family = family
        self.defaultBaseURL = defaultBaseURL
        self.auth = auth
        self.keyVariables = keyVariables
    }
}

public enum ProviderCatalog {
    public static let builtin: [ProviderInfo] = [
        ProviderInfo(slug: "openai", family: .openAICompatible, defaultBaseURL: "https://api.openai.com/v1", auth: .bearer, keyVariables: ["OPENAI_API_KEY"]),
        ProviderInfo(slug: "anthropic", family: .anthropic, defaultBaseURL: "https://api.anthropic.com", auth: .xAPIKey, keyVariables: ["ANTHROPIC_API_KEY"]),
        ProviderInfo(slug: "google-ai-studio", family: .gemini, defaultBaseURL: "https://generativelanguage.googleapis.com", auth: .googAPIKey, keyVariables: ["GEMINI_API_KEY", "GOOGLE_API_KEY"]),
        ProviderInfo(slug: "workers-ai", family: .workersAI, defaultBaseURL: "https://api.cloudflare.com/client/v4/accounts/{account_id}/ai", auth: .bearer, keyVariables: ["CLOUDFLARE_API_TOKEN"]),
        ProviderInfo(slug: "azure-openai", family: .azureOpenAI, defaultBaseURL: "https://{resource}.openai.azure.com/openai", auth: .apiKey, keyVariables: ["AZURE_OPENAI_API_KEY"]),
        ProviderInfo(slug: "groq", family: .openAICompatible, defaultBaseURL: "https://api.groq.com/openai/v1", auth: .bearer, keyVariables: ["GROQ_API_KEY"]),
        ProviderInfo(slug: "mistral", family: .openAICompatible, defaultBaseURL: "https://api.mistral.ai/v1", auth: .bearer, keyVariables: ["MISTRAL_API_KEY"]),
        ProviderInfo(slug: "grok", family: .openAICompatible, defaultBaseURL: "https://api.x.ai/v1", auth: .bearer, keyVariables: ["XAI_API_KEY"]),
        ProviderInfo(slug: "deepseek", family: .openAICompatible, defaultBaseURL: "https://api.deepseek.com", auth: .bearer, keyVariables: ["DEEPSEEK_API_KEY"]),
        ProviderInfo(slug: "perplexity", pathSlug: "perplexity-ai", family: .openAICompatible, defaultBaseURL: "https://api.perplexity.ai", auth: .bearer, keyVariables: ["PERPLEXITY_API_KEY"]),
        ProviderInfo(slug: "cerebras", family: .openAICompatible, defaultBaseURL: "https://api.cerebras.ai/v1", auth: .bearer, keyVariables: ["CEREBRAS_API_KEY"]),
        ProviderInfo(slug: "openrouter", family: .openAICompatible, defaultBaseURL: "https://openrouter.ai/api/v1", auth: .bearer, keyVariables: ["OPENROUTER_API_KEY"]),
    ]

    private static let bySlug: [String: ProviderInfo] = Dictionary(uniqueKeysWithValues: builtin.map { ($0.slug, $0) })
    private static let byPathSlug: [String: ProviderInfo] = Dictionary(uniqueKeysWithValues: builtin.map { ($0.pathSlug, $0) })

    /// The built-in provider with this model prefix.
    public static func provider(slug: String) -> ProviderInfo? { bySlug[slug] }

    /// The built-in provider with this passthrough path segment (`perplexity-ai`), or slug.
    public static func provider(pathSlug: String) -> ProviderInfo? { byPathSlug[pathSlug] ?? bySlug[pathSlug] }

    public static var slugs: [String] { builtin.map(\.slug) }
}
