public import SwitchyardCore

/// Deterministic JSON text for translated bodies and stream chunks.
///
/// `JSONValue` objects are unordered, so keys are written in a fixed order: the fields of OpenAI's
/// chat completion, chunk, usage and error objects first, in the order OpenAI sends them, then every
/// other key sorted. The same value always yields the same bytes, which the golden tests pin.
/// Non-ASCII text is written as UTF-8, `/` is not escaped, integral numbers have no fraction.
public enum TranslationJSON {
    public static func encode(_ value: JSONValue) -> String {
        value.compactJSON(orderingKeysBy: openAIPrecedes)
    }

    /// Compact JSON with every object's keys sorted: for provider data re-encoded into OpenAI strings
    /// (tool call `arguments`, JSON-mode content), where OpenAI's field order means nothing.
    public static func encodeSorted(_ value: JSONValue) -> String { value.canonicalJSON }

    private static let keyRank: [String: Int] = {
        let order = [
            "index", "id", "object", "created", "model", "system_fingerprint", "choices", "delta", "message",
            "role", "content", "reasoning_content", "thinking_blocks", "refusal", "annotations", "tool_calls",
            "type", "function", "name", "arguments", "extra_content", "logprobs", "finish_reason", "data",
            "embedding", "usage", "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
            "cached_tokens", "cache_write_tokens", "completion_tokens_details", "reasoning_tokens", "error",
            "param", "code",
        ]
        return Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
    }()

    /// OpenAI's known fields in the order OpenAI sends them, then every other key sorted.
    static func openAIPrecedes(_ a: String, _ b: String) -> Bool {
        switch (keyRank[a], keyRank[b]) {
        case let (x?, y?): x < y
        case (.some, nil): true
        case (nil, .some): false
        case (nil, nil): a < b
        }
    }
}
