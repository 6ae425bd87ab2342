/// A YAML (or JSON) document as the compiler sees it: maps keep their key order and every node
/// keeps its line and column. Scalars are typed by the compiler, not by a YAML resolver, so
/// `version: 1.10` or `country: NO` mean exactly what they say in the field that reads them.
package struct YNode: Sendable {
    package enum Value: Sendable {
        case scalar(YScalar)
        case mapping([YPair])
        case sequence([YNode])
    }
    package var value: Value
    package var position: SourcePosition

    package var scalar: YScalar? { if case .scalar(let s) = value { return s }; return nil }
    package var pairs: [YPair]? { if case .mapping(let p) = value { return p }; return nil }
    package var items: [YNode]? { if case .sequence(let i) = value { return i }; return nil }
    /// The text of a scalar; nil for maps and lists.
    package var text: String? { scalar?.text }

    /// `a map`, `a list`, `the string "x"`, `the number 3`: for "expected ..., found ..." messages.
    var kindDescription: String {
        switch value {
        case .mapping: return "a map"
        case .sequence: return "a list"
        case .scalar(let s):
            switch s.typed {
            case .null: return "nothing (null)"
            case .bool(let b): return "the boolean \(b)"
            case .number: return "the number \(s.text)"
            default: return "the string \"\(s.text)\""
            }
        }
    }

    /// The value as JSON: plain scalars typed as null, booleans, numbers or strings.
    var json: JSONValue {
        switch value {
        case .scalar(let s): return s.typed
        case .sequence(let items): return .array(items.map(\.json))
        case .mapping(let pairs):
            var o: [String: JSONValue] = [:]
            for p in pairs { o[p.key.text ?? p.key.json.canonicalJSON] = p.value.json }
            return .object(o)
        }
    }
}

package struct YPair: Sendable {
    package var key: YNode
    package var value: YNode
    /// The key's text ("" for a non-scalar key).
    package var name: String { key.text ?? "" }
}

package struct YScalar: Sendable {
    package enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }
    package var text: String
    package var style: Style
    /// A tag written in the file (`!foo`): in a condition it means an unquoted leading `!`.
    var explicitTag: String? = nil

    var isQuoted: Bool { style != .plain }

    /// An unquoted empty value, `~` or `null`.
    package var isNull: Bool { style == .plain && ["", "~", "null", "Null", "NULL"].contains(text) }

    /// JSON typing of a scalar: only plain scalars can be null, booleans or numbers.
    var typed: JSONValue {
        guard style == .plain else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default:
            if let n = YScalar.number(text) { return .number(n) }
            return .string(text)
        }
    }

    /// A decimal number as YAML and JSON write it (`12`, `-3.5`, `1e3`); not `0x10`, `.inf` or `1_000`.
    static func number(_ text: String) -> Double? {
        guard let first = text.unicodeScalars.first, first == "-" || first == "+" || ("0"..."9").contains(first) else { return nil }
        guard text.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) || $0 == "." || $0 == "-" || $0 == "+" || $0 == "e" || $0 == "E" }) else { return nil }
        guard let v = Double(text), v.isFinite else { return nil }
        return v
    }
}
