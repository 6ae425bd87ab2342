/// Ordered JSON output: providers' bytes are pinned by key order, so a dictionary encoder will not do.
indirect enum JSONText: Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONText])
    case object([(String, JSONText)])

    enum Style {
        /// `{"a":1,"b":2}` as OpenAI and Anthropic send.
        case compact
        /// `{"a": 1,"b": 2}` as Gemini's SSE events read.
        case gemini
    }

    func rendered(_ style: Style = .compact) -> String {
        var out = ""
        write(into: &out, style: style)
        return out
    }

    private func write(into out: inout String, style: Style) {
        switch self {
        case .string(let value): JSONText.escape(value, into: &out)
        case .int(let value): out += String(value)
        case .double(let value): out += value.isFinite ? "\(value)" : "0"
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (offset, item) in items.enumerated() {
                if offset > 0 { out += "," }
                item.write(into: &out, style: style)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (offset, (key, value)) in members.enumerated() {
                if offset > 0 { out += "," }
                JSONText.escape(key, into: &out)
                out += style == .gemini ? ": " : ":"
                value.write(into: &out, style: style)
            }
            out += "}"
        }
    }

    static func escape(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    static func optionalString(_ value: String?) -> JSONText {
        value.map(JSONText.string) ?? .null
    }
}
