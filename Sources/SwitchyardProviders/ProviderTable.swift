import SwitchyardCore

/// What the configuration file says about one provider.
public struct ProviderSettings: Sendable, Hashable {
    public var kind: ProviderInfo.Family?
    public var baseURL: String?
    public var keys: [String: String]?
    /// Azure OpenAI: the resource filling `{resource}` in the base URL, a fixed deployment, `api-version`.
    public var resource: String?
    public var deployment: String?
    public var apiVersion: String?

    public init(kind: ProviderInfo.Family? = nil, baseURL: String? = nil, keys: [String: String]? = nil,
                resource: String? = nil, deployment: String? = nil, apiVersion: String? = nil) {
        self.kind = kind
        self.baseURL = baseURL
        self.keys = keys
        self.resource = resource
        self.deployment = deployment
        self.apiVersion = apiVersion
    }
}

/// Every provider the gateway can call: the built-in catalogue plus custom providers, with base
/// URLs and keys resolved once at startup.
public struct ProviderTable: Sendable {
    public let providers: [UpstreamProvider]
    private let bySlug: [String: Int]
    private let byPathSlug: [String: Int]

    public init(settings: [String: ProviderSettings], environment: [String: String]) {
        var list: [UpstreamProvider] = []
        for info in ProviderCatalog.builtin {
            let s = settings[info.slug]
            var keys = s?.keys ?? [:]
            if keys.isEmpty, let value = info.keyVariables.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) {
                keys["default"] = value
            }
            var base = s?.baseURL ?? info.defaultBaseURL
            var problem: String?
            if base.contains("{account_id}") {
                if let account = environment["CLOUDFLARE_ACCOUNT_ID"], !account.isEmpty {
                    base = base.replacingOccurrences(of: "{account_id}", with: account)
                } else {
                    problem = "set CLOUDFLARE_ACCOUNT_ID or providers.\(info.slug).base_url"
                }
            }
            let family = s?.kind ?? info.family
            var adapter: (any ProviderAdapter)?
            if family == .azureOpenAI {
                // `{resource}` left in the base URL is filled per request from the model or the path.
                if let resource = s?.resource { base = base.replacingOccurrences(of: "{resource}", with: resource) }
                adapter = AzureOpenAIAdapter(resource: s?.resource, deployment: s?.deployment, apiVersion: s?.apiVersion)
            } else if base.contains("{resource}") {
                problem = "set providers.\(info.slug).base_url"
            }
            list.append(UpstreamProvider(
                slug: info.slug, pathSlug: info.pathSlug, family: family, baseURL: base, auth: info.auth,
                keys: keys, keyVariables: info.keyVariables, isCustom: false, configurationProblem: problem, adapter: adapter
            ))
        }
        for (slug, s) in settings.sorted(by: { $0.key < $1.key }) where ProviderCatalog.provider(slug: slug) == nil {
            list.append(UpstreamProvider(
                slug: slug, family: s.kind ?? .openAICompatible, baseURL: s.baseURL ?? "", auth: .bearer,
                keys: s.keys ?? [:], keyVariables: [], isCustom: true,
                configurationProblem: s.baseURL == nil ? "set providers.\(slug).base_url" : nil
            ))
        }
        self.providers = list
        var bySlug: [String: Int] = [:]
        var byPath: [String: Int] = [:]
        for (i, p) in list.enumerated() {
            bySlug[p.slug] = i
            byPath[p.pathSlug] = i
            if p.isCustom { byPath["custom-\(p.slug)"] = i; bySlug["custom-\(p.slug)"] = i }
        }
        self.bySlug = bySlug
        self.byPathSlug = byPath
    }

    /// By model prefix (`perplexity`, `custom-my-vllm`, `my-vllm`).
    public func provider(slug: String) -> UpstreamProvider? { bySlug[slug].map { providers[$0] } }

    /// By passthrough path segment (`perplexity-ai`); the plain slug works too.
    public func provider(pathSlug: String) -> UpstreamProvider? {
        (byPathSlug[pathSlug] ?? bySlug[pathSlug]).map { providers[$0] }
    }

    public var slugs: [String] { providers.map(\.slug) }
}
