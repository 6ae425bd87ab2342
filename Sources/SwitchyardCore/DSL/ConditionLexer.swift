/// Tokens of the condition language. Offsets count Unicode scalars from the start of the
/// expression, the unit YAML columns are counted in.
struct ConditionToken: Sendable {
    enum Kind: Sendable, Equatable {
        case identifier(String)
        case string(String)
        case number(Double)
        /// `==` `!=` `<` `<=` `>` `>=` `&&` `||` `!`
        case symbol(String)
        case leftParen, rightParen, leftBracket, rightBracket, comma, dot
        case end
    }
    var kind: Kind
    var offset: Int
    var length: Int
    /// For a string: the offset in the expression of each scalar of its value, then of the
    /// closing quote (escapes make the two differ), to point inside a regular expression.
    var valueOffsets: [Int] = []

    /// How a message names the token: `'contains'`, `the string "x"`, `the end of the expression`.
    var display: String {
        switch kind {
        case .identifier(let s): return "'\(s)'"
        case .string(let s): return "the string \"\(s)\""
        case .number(let n): return "the number \(RouteRun.format(n))"
        case .symbol(let s): return "'\(s)'"
        case .leftParen: return "'('"
        case .rightParen: return "')'"
        case .leftBracket: return "'['"
        case .rightBracket: return "']'"
        case .comma: return "','"
        case .dot: return "'.'"
        case .end: return "the end of the expression"
        }
    }

    func isKeyword(_ word: String) -> Bool { kind == .identifier(word) }
}

struct ConditionSyntaxError: Error, Sendable {
    var offset: Int
    var message: String
    var suggestion: String?
}

enum ConditionLexer {
    static func tokenize(_ text: String) throws(ConditionSyntaxError) -> [ConditionToken] {
        let s = Array(text.unicodeScalars)
        var tokens: [ConditionToken] = []
        var i = 0
        func isIdentStart(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c == "_" || c == "$" }
        func isIdent(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || ("0"..."9").contains(c) || c == "-" }
        func isDigit(_ c: Unicode.Scalar) -> Bool { ("0"..."9").contains(c) }
        while i < s.count {
            let c = s[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            let start = i
            switch c {
            case "(": tokens.append(.init(kind: .leftParen, offset: i, length: 1)); i += 1
            case ")": tokens.append(.init(kind: .rightParen, offset: i, length: 1)); i += 1
            case "[": tokens.append(.init(kind: .leftBracket, offset: i, length: 1)); i += 1
            case "]": tokens.append(.init(kind: .rightBracket, offset: i, length: 1)); i += 1
            case ",": tokens.append(.init(kind: .comma, offset: i, length: 1)); i += 1
            case ".": tokens.append(.init(kind: .dot, offset: i, length: 1)); i += 1
            case "=", "!", "<", ">", "&", "|":
                let next: Unicode.Scalar? = i + 1 < s.count ? s[i + 1] : nil
                let two = next.map { String(c) + String($0) }
                if let two, ["==", "!=", "<=", ">=", "&&", "||"].contains(two) {
                    tokens.append(.init(kind: .symbol(two), offset: i, length: 2)); i += 2
                } else if c == "!" || c == "<" || c == ">" {
                    tokens.append(.init(kind: .symbol(String(c)), offset: i, length: 1)); i += 1
                } else if c == "=" {
                    throw ConditionSyntaxError(offset: i, message: "'=' is not an operator", suggestion: "use '==' to compare")
                } else {
                    throw ConditionSyntaxError(offset: i, message: "'\(c)' is not an operator", suggestion: "use '\(c)\(c)' (or '\(c == "&" ? "and" : "or")')")
                }
            case "\"", "'":
                let quote = c
                var value = String.UnicodeScalarView()
                var valueOffsets: [Int] = []
                i += 1
                var closed = false
                while i < s.count {
                    let d = s[i]
                    valueOffsets.append(i)
                    if d == "\\" && i + 1 < s.count {
                        let e = s[i + 1]
                        switch e {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(e)
                        }
                        i += 2
                        continue
                    }
                    if d == quote { closed = true; i += 1; break }
                    value.append(d)
                    i += 1
                }
                guard closed else {
                    throw ConditionSyntaxError(offset: start, message: "unterminated string", suggestion: "close it with \(quote)")
                }
                tokens.append(.init(kind: .string(String(value)), offset: start, length: i - start, valueOffsets: valueOffsets))
            default:
                if isDigit(c) || (c == "-" && i + 1 < s.count && (isDigit(s[i + 1]) || s[i + 1] == ".")) {
                    i += 1
                    while i < s.count, isDigit(s[i]) || s[i] == "." || s[i] == "e" || s[i] == "E" || ((s[i] == "-" || s[i] == "+") && (s[i - 1] == "e" || s[i - 1] == "E")) { i += 1 }
                    let text = String(String.UnicodeScalarView(s[start..<i]))
                    guard let v = Double(text), v.isFinite else {
                        throw ConditionSyntaxError(offset: start, message: "'\(text)' is not a number")
                    }
                    tokens.append(.init(kind: .number(v), offset: start, length: i - start))
                } else if isIdentStart(c) {
                    i += 1
                    while i < s.count, isIdent(s[i]) { i += 1 }
                    tokens.append(.init(kind: .identifier(String(String.UnicodeScalarView(s[start..<i]))), offset: start, length: i - start))
                } else {
                    throw ConditionSyntaxError(offset: i, message: "unexpected character '\(c)'")
                }
            }
        }
        // The end sits just after the last token, not after trailing blanks or a block's newline.
        tokens.append(.init(kind: .end, offset: tokens.last.map { $0.offset + $0.length } ?? 0, length: 0))
        return tokens
    }
}
