/// Prices by `provider/model`, the built-in table overlaid with configuration overrides.
///
/// Lookup tries the exact id, then the longest built-in prefix (dated snapshots such as
/// `gpt-4o-2024-08-06` price as `gpt-4o`); unknown models cost nothing and are flagged by `isKnown`.
public struct PriceTable: Sendable {
    private var prices: [String: ModelPrice]
    /// Keys sorted longest first, for prefix matching.
    private var prefixes: [String]

    public init(overrides: [String: ModelPrice] = [:], includeBuiltins: Bool = true) {
        var p = includeBuiltins ? Self.builtin : [:]
        for (k, v) in overrides { p[k] = v }
        self.prices = p
        self.prefixes = p.keys.sorted { $0.count > $1.count }
    }

    public func price(for target: ModelTarget) -> ModelPrice? {
        let id = target.description
        if let p = prices[id] { return p }
        for key in prefixes where id.hasPrefix(key) { return prices[key] }
        return nil
    }

    public func isKnown(_ target: ModelTarget) -> Bool { price(for: target) != nil }

    public func cost(of usage: Usage, for target: ModelTarget) -> Double {
        (price(for: target) ?? .zero).cost(of: usage)
    }

    /// USD per million tokens, list prices as published by each provider (late 2026).
    public static let builtin: [String: ModelPrice] = [
        // OpenAI
        "openai/gpt-5.2": ModelPrice(input: 1.75, output: 14.0, cachedInput: 0.175),
        "openai/gpt-5.1": ModelPrice(input: 1.25, output: 10.0, cachedInput: 0.125),
        "openai/gpt-5": ModelPrice(input: 1.25, output: 10.0, cachedInput: 0.125),
        "openai/gpt-5-mini": ModelPrice(input: 0.25, output: 2.0, cachedInput: 0.025),
        "openai/gpt-5-nano": ModelPrice(input: 0.05, output: 0.4, cachedInput: 0.005),
        "openai/gpt-4.1": ModelPrice(input: 2.0, output: 8.0, cachedInput: 0.5),
        "openai/gpt-4.1-mini": ModelPrice(input: 0.4, output: 1.6, cachedInput: 0.1),
        "openai/gpt-4.1-nano": ModelPrice(input: 0.1, output: 0.4, cachedInput: 0.025),
        "openai/gpt-4o": ModelPrice(input: 2.5, output: 10.0, cachedInput: 1.25),
        "openai/gpt-4o-mini": ModelPrice(input: 0.15, output: 0.6, cachedInput: 0.075),
        "openai/o3": ModelPrice(input: 2.0, output: 8.0, cachedInput: 0.5),
        "openai/o4-mini": ModelPrice(input: 1.1, output: 4.4, cachedInput: 0.275),
        "openai/text-embedding-3-small": ModelPrice(input: 0.02, output: 0),
        "openai/text-embedding-3-large": ModelPrice(input: 0.13, output: 0),
        // Anthropic (cache reads at 0.1 × input)
        "anthropic/claude-opus-4-5": ModelPrice(input: 5.0, output: 25.0, cachedInput: 0.5),
        "anthropic/claude-opus-4-1": ModelPrice(input: 15.0, output: 75.0, cachedInput: 1.5),
        "anthropic/claude-sonnet-4-5": ModelPrice(input: 3.0, output: 15.0, cachedInput: 0.3),
        "anthropic/claude-sonnet-4": ModelPrice(input: 3.0, output: 15.0, cachedInput: 0.3),
        "anthropic/claude-haiku-4-5": ModelPrice(input: 1.0, output: 5.0, cachedInput: 0.1),
        "anthropic/claude-3-5-haiku": ModelPrice(input: 0.8, output: 4.0, cachedInput: 0.08),
        // Google
        "google-ai-studio/gemini-3-pro-preview": ModelPrice(input: 2.0, output: 12.0, cachedInput: 0.2),
        "google-ai-studio/gemini-2.5-pro": ModelPrice(input: 1.25, output: 10.0, cachedInput: 0.125),
        "google-ai-studio/gemini-2.5-flash": ModelPrice(input: 0.3, output: 2.5, cachedInput: 0.03),
        "google-ai-studio/gemini-2.5-flash-lite": ModelPrice(input: 0.1, output: 0.4, cachedInput: 0.01),
        "google-ai-studio/gemini-2.0-flash": ModelPrice(input: 0.1, output: 0.4, cachedInput: 0.025),
        "google-ai-studio/text-embedding-004": ModelPrice(input: 0, output: 0),
        // xAI
        "grok/grok-4": ModelPrice(input: 3.0, output: 15.0, cachedInput: 0.75),
        "grok/grok-4-fast": ModelPrice(input: 0.2, output: 0.5, cachedInput: 0.05),
        "grok/grok-3-mini": ModelPrice(input: 0.3, output: 0.5, cachedInput: 0.075),
        // Groq
        "groq/llama-3.3-70b-versatile": ModelPrice(input: 0.59, output: 0.79),
        "groq/llama-3.1-8b-instant": ModelPrice(input: 0.05, output: 0.08),
        "groq/openai/gpt-oss-120b": ModelPrice(input: 0.15, output: 0.75),
        "groq/openai/gpt-oss-20b": ModelPrice(input: 0.1, output: 0.5),
        // Mistral
        "mistral/mistral-large-latest": ModelPrice(input: 2.0, output: 6.0),
        "mistral/mistral-medium-latest": ModelPrice(input: 0.4, output: 2.0),
        "mistral/mistral-small-latest": ModelPrice(input: 0.1, output: 0.3),
        "mistral/codestral-latest": ModelPrice(input: 0.3, output: 0.9),
        // DeepSeek
        "deepseek/deepseek-chat": ModelPrice(input: 0.28, output: 0.42, cachedInput: 0.028),
        "deepseek/deepseek-reasoner": ModelPrice(input: 0.28, output: 0.42, cachedInput: 0.028),
        // Workers AI (USD per million tokens as published)
        "workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast": ModelPrice(input: 0.293, output: 2.253),
        "workers-ai/@cf/meta/llama-3.1-8b-instruct": ModelPrice(input: 0.282, output: 0.827),
        "workers-ai/@cf/meta/llama-4-scout-17b-16e-instruct": ModelPrice(input: 0.27, output: 0.85),
        "workers-ai/@cf/openai/gpt-oss-120b": ModelPrice(input: 0.35, output: 0.75),
        "workers-ai/@cf/baai/bge-base-en-v1.5": ModelPrice(input: 0.067, output: 0),
        // Perplexity, Cerebras
        "perplexity/sonar": ModelPrice(input: 1.0, output: 1.0),
        "perplexity/sonar-pro": ModelPrice(input: 3.0, output: 15.0),
        "cerebras/llama-3.3-70b": ModelPrice(input: 0.85, output: 1.2),
        "cerebras/gpt-oss-120b": ModelPrice(input: 0.35, output: 0.75),
    ]
}
