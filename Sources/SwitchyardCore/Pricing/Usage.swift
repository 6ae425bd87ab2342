/// Token counts in OpenAI's counting rules: `promptTokens` includes cached ones,
/// `completionTokens` includes reasoning ones.
public struct Usage: Sendable, Hashable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedPromptTokens: Int
    public var reasoningTokens: Int

    /// The most tokens one count may hold (2^40, about 10^12). Counts come from upstream answers:
    /// each is clamped to 0...maxTokens where it is parsed, so sums and metric counters cannot trap.
    public static let maxTokens = 1 << 40

    public init(promptTokens: Int = 0, completionTokens: Int = 0, cachedPromptTokens: Int = 0, reasoningTokens: Int = 0) {
        self.promptTokens = Self.clamp(promptTokens)
        self.completionTokens = Self.clamp(completionTokens)
        self.cachedPromptTokens = Self.clamp(cachedPromptTokens)
        self.reasoningTokens = Self.clamp(reasoningTokens)
    }

    public static func clamp(_ n: Int) -> Int { min(max(n, 0), maxTokens) }

    public var totalTokens: Int { Self.clamp(promptTokens) + Self.clamp(completionTokens) }
}

/// USD per million tokens.
public struct ModelPrice: Sendable, Hashable, Codable {
    public var input: Double
    public var output: Double
    /// Price of cached input tokens; defaults to `input` when a provider has no discount.
    public var cachedInput: Double

    public init(input: Double, output: Double, cachedInput: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput ?? input
    }

    public static let zero = ModelPrice(input: 0, output: 0)

    /// Cost of `usage` in USD.
    public func cost(of usage: Usage) -> Double {
        let cached = min(usage.cachedPromptTokens, usage.promptTokens)
        let uncached = usage.promptTokens - cached
        return (Double(uncached) * input + Double(cached) * cachedInput + Double(usage.completionTokens) * output) / 1_000_000
    }

    /// The element-wise maximum: a price that never underestimates either model.
    public func maximum(_ other: ModelPrice) -> ModelPrice {
        ModelPrice(input: max(input, other.input), output: max(output, other.output), cachedInput: max(cachedInput, other.cachedInput))
    }
}
