public import SwitchyardCore

/// Deterministic JSON text for translated bodies and stream chunks.
///
/// `JSONValue` objects are unordered, so keys are written in a fixed order: the fields of OpenAI's
/// chat completion, chunk, usage and error objects first, in the order OpenAI sends them, then every
/// other key sorted. The same value always yields the same bytes, which the golden tests pin.
/// Non-ASCII text is written as UTF-8, `/` is not escaped, integral numbers have no fraction.
public enum TranslationJSON {
    public static func encode(_ value: JSONValue) -> String {
        var out = ""
        out.reserveCapacity(256)
        write(value, openAIOrder: true, into: &out)
        return out
    }

    /// Compact JSON with every object's keys sorted: for provider data re-encoded into OpenAI strings
    /// (tool call `arguments`, JSON-mode content), where OpenAI's field order means nothing.
    public static func encodeSorted(_ value: JSONValue) -> String {
        var out = ""
        write(value, openAIOrder: false, into: &out)
        return out
    }

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

    static func orderedKeys(_ object: [String: JSONValue]) -> [String] {
        object.keys.sorted { a, b in
            switch (keyRank[a], keyRank[b]) {
            case let (x?, y?): x < y
            case (.some, nil): true
            case (nil, .some): false
            case (nil, nil): a < b
            }
        }
    }

    private static func write(_ value: JSONValue, openAIOrder: Bool, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): writeNumber(n, into: &out)
        case .string(let s): writeString(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                write(v, openAIOrder: openAIOrder, into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in (openAIOrder ? orderedKeys(o) : o.keys.sorted()).enumerated() {
                if i > 0 { out += "," }
                writeString(k, into: &out)
                out += ":"
                write(o[k]!, openAIOrder: openAIOrder, into: &out)
            }
            out += "}"
        }
    }

    private static func writeNumber(_ n: Double, into out: inout String) {
        if !n.isFinite {
            out += "null"
        } else if n.rounded() == n, abs(n) < 9.0e15 {
            out += String(Int64(n))
        } else {
            out += "\(n)"
        }
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
