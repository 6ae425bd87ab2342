/// A problem in a regular expression, at a Unicode-scalar offset into the pattern.
public struct RegexPatternError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var suggestion: String?

    public var description: String { suggestion.map { "\(message); \($0)" } ?? message }
}

enum RegexAssertion: Sendable, Equatable {
    /// `^`: the start of the input (no multiline mode).
    case start
    /// `$`: the end of the input, or before a line terminator (or CR LF) that ends it.
    case end
    /// `\b`
    case wordBoundary
    /// `\B`
    case notWordBoundary
}

/// The parsed form of a pattern; every node remembers which scalars of the pattern it spans.
struct RegexNode: Sendable {
    indirect enum Kind: Sendable {
        case empty
        case literal(Unicode.Scalar)
        case set(RegexCharClass)
        case assertion(RegexAssertion)
        case group(RegexNode)
        case concat([RegexNode])
        case alternation([RegexNode])
        /// `max == nil` is unbounded. Lazy quantifiers are recorded like greedy ones: a yes/no
        /// match does not depend on which repetition count is preferred.
        case repetition(RegexNode, min: Int, max: Int?)
    }
    var kind: Kind
    /// The pattern scalars this node spans, its quantifier included.
    var range: Range<Int>
    /// For a repetition, where its quantifier starts.
    var quantifierOffset: Int = 0
}

struct RegexSyntax: Sendable {
    var root: RegexNode
    /// The pattern starts with `(?i)`.
    var caseInsensitive: Bool
    var scalars: [Unicode.Scalar]

    /// The text of a node, for messages.
    func text(_ node: RegexNode) -> String {
        String(String.UnicodeScalarView(scalars[node.range]))
    }

    /// Largest count accepted in `{n}`, `{n,}` and `{n,m}`.
    static let maxRepetition = 1000
    /// Deepest nesting of groups accepted.
    static let maxGroupDepth = 64

    static func parse(_ pattern: String) throws(RegexPatternError) -> RegexSyntax {
        var parser = Parser(Array(pattern.unicodeScalars))
        return try parser.parse()
    }
}

/// Recursive descent over the supported syntax. Anything outside it is an error naming the
/// construct, never a different meaning.
private struct Parser {
    let s: [Unicode.Scalar]
    var i = 0
    var depth = 0
    var caseInsensitive = false

    init(_ s: [Unicode.Scalar]) { self.s = s }

    var atEnd: Bool { i >= s.count }
    func peek(_ n: Int = 0) -> Unicode.Scalar? { i + n < s.count ? s[i + n] : nil }

    func error(_ offset: Int, _ message: String, _ suggestion: String? = nil) -> RegexPatternError {
        RegexPatternError(offset: offset, message: message, suggestion: suggestion)
    }

    mutating func parse() throws(RegexPatternError) -> RegexSyntax {
        if s.starts(with: Array("(?i)".unicodeScalars)) {
            caseInsensitive = true
            i = 4
        }
        let root = try parseAlternation()
        if !atEnd {
            // Only an unmatched ')' stops the top-level alternation early.
            throw error(i, "unmatched ')'", "remove it or escape it as \\)")
        }
        return RegexSyntax(root: root, caseInsensitive: caseInsensitive, scalars: s)
    }

    mutating func parseAlternation() throws(RegexPatternError) -> RegexNode {
        let start = i
        var branches = [try parseConcat()]
        while peek() == "|" {
            i += 1
            branches.append(try parseConcat())
        }
        return branches.count == 1 ? branches[0] : RegexNode(kind: .alternation(branches), range: start..<i)
    }

    mutating func parseConcat() throws(RegexPatternError) -> RegexNode {
        let start = i
        var items: [RegexNode] = []
        while let c = peek(), c != "|", c != ")" {
            let atom = try parseAtom()
            items.append(try parseQuantifier(atom))
        }
        switch items.count {
        case 0: return RegexNode(kind: .empty, range: start..<i)
        case 1: return items[0]
        default: return RegexNode(kind: .concat(items), range: start..<i)
        }
    }

    mutating func parseAtom() throws(RegexPatternError) -> RegexNode {
        let start = i
        let c = s[i]
        switch c {
        case "(":
            return try parseGroup()
        case "[":
            let cls = try parseClass()
            return RegexNode(kind: .set(cls), range: start..<i)
        case ".":
            i += 1
            return RegexNode(kind: .set(.dot), range: start..<i)
        case "^":
            i += 1
            return RegexNode(kind: .assertion(.start), range: start..<i)
        case "$":
            i += 1
            return RegexNode(kind: .assertion(.end), range: start..<i)
        case "\\":
            return try parseEscape()
        case "*", "+", "?":
            throw error(i, "'\(c)' has nothing to repeat", "escape it as \\\(c) to match it literally")
        case "{":
            if countSyntax(at: i) != nil {
                throw error(i, "'{' has nothing to repeat", "escape it as \\{ to match it literally")
            }
            throw error(i, "'{' starts a repetition count such as {2,5}", "escape it as \\{ to match it literally")
        case "}":
            throw error(i, "unmatched '}'", "escape it as \\} to match it literally")
        default:
            i += 1
            return RegexNode(kind: .literal(c), range: start..<i)
        }
    }

    mutating func parseGroup() throws(RegexPatternError) -> RegexNode {
        let open = i
        i += 1
        if peek() == "?" {
            switch peek(1) {
            case ":":
                i += 2
            case "=", "!":
                throw error(open, "lookahead assertions '(?\(peek(1)!)' are not supported", "match the text itself, or split the test into two conditions joined with 'and'")
            case "<" where peek(2) == "=" || peek(2) == "!":
                throw error(open, "lookbehind assertions '(?<\(peek(2)!)' are not supported", "match the text itself, or split the test into two conditions joined with 'and'")
            case "<", "P":
                throw error(open, "named groups are not supported", "use (...) or (?:...)")
            case ">":
                throw error(open, "atomic groups '(?>' are not supported", "use (?:...)")
            case "#":
                throw error(open, "comments '(?#' are not supported", "remove the comment")
            case "i" where peek(2) == ")":
                throw error(open, "'(?i)' is only supported at the very start of the pattern", "move it to the start; it then applies to the whole pattern")
            default:
                throw error(open, "inline options '(?...' are not supported (only '(?i)' at the start)", "use (?:...) for a group")
            }
        }
        depth += 1
        defer { depth -= 1 }
        if depth > RegexSyntax.maxGroupDepth {
            throw error(open, "groups nest more than \(RegexSyntax.maxGroupDepth) levels deep")
        }
        let inner = try parseAlternation()
        guard peek() == ")" else {
            throw error(open, "missing ')' to close this '('", "add the ')' or escape the '(' as \\(")
        }
        i += 1
        return RegexNode(kind: .group(inner), range: open..<i)
    }

    /// `{n}`, `{n,}` or `{n,m}` starting at `j`: the counts and the offset just past '}'.
    func countSyntax(at j: Int) -> (min: Int, max: Int?, end: Int)? {
        guard j < s.count, s[j] == "{" else { return nil }
        var k = j + 1
        func number() -> Int? {
            let from = k
            var value = 0
            while k < s.count, let d = s[k].asciiDigit {
                value = min(value * 10 + d, 1_000_000)
                k += 1
            }
            return k > from ? value : nil
        }
        guard let low = number() else { return nil }
        var high: Int? = low
        if k < s.count, s[k] == "," {
            k += 1
            high = number()
        }
        guard k < s.count, s[k] == "}" else { return nil }
        return (low, high, k + 1)
    }

    mutating func parseQuantifier(_ atom: RegexNode) throws(RegexPatternError) -> RegexNode {
        guard let c = peek() else { return atom }
        let q = i
        var low = 0, high: Int? = nil
        switch c {
        case "*": low = 0; high = nil; i += 1
        case "+": low = 1; high = nil; i += 1
        case "?": low = 0; high = 1; i += 1
        case "{":
            guard let count = countSyntax(at: i) else {
                throw error(i, "expected a repetition count such as {2}, {2,} or {2,5}", "escape it as \\{ to match '{' literally")
            }
            low = count.min
            high = count.max
            if low > RegexSyntax.maxRepetition || (high ?? 0) > RegexSyntax.maxRepetition {
                throw error(q, "repetition counts are limited to \(RegexSyntax.maxRepetition)", "use a smaller count or '+'/'*'")
            }
            if let h = high, h < low {
                throw error(q, "the repetition {\(low),\(h)} has its bounds out of order", "write {\(h),\(low)}")
            }
            i = count.end
        default:
            return atom
        }
        if case .assertion = atom.kind {
            throw error(q, "'\(c)' has nothing to repeat: '\(String(String.UnicodeScalarView(s[atom.range])))' matches a position, not text")
        }
        if peek() == "?" {
            i += 1  // lazy: the same yes/no answer as greedy
        } else if peek() == "+" {
            throw error(i, "possessive quantifiers ('\(String(String.UnicodeScalarView(s[q...i])))') are not supported", "remove the trailing '+'")
        }
        if let next = peek(), next == "*" || next == "+" || next == "?" || (next == "{" && countSyntax(at: i) != nil) {
            throw error(i, "a quantifier cannot follow another quantifier", "wrap the repeated part in (?:...) first")
        }
        return RegexNode(kind: .repetition(atom, min: low, max: high), range: atom.range.lowerBound..<i, quantifierOffset: q)
    }

    /// An escape outside a class: a character class, an assertion or a literal.
    mutating func parseEscape() throws(RegexPatternError) -> RegexNode {
        let start = i
        guard let e = peek(1) else {
            throw error(i, "the pattern ends with a lone backslash", "write \\\\ to match a backslash")
        }
        switch e {
        case "b":
            i += 2
            return RegexNode(kind: .assertion(.wordBoundary), range: start..<i)
        case "B":
            i += 2
            return RegexNode(kind: .assertion(.notWordBoundary), range: start..<i)
        default:
            switch try parseEscapedItem() {
            case .scalar(let c): return RegexNode(kind: .literal(c), range: start..<i)
            case .predicate(let p): return RegexNode(kind: .set(.predicate(p)), range: start..<i)
            }
        }
    }

    enum EscapedItem { case scalar(Unicode.Scalar), predicate(RegexCharClass.Predicate) }

    /// The escapes valid both inside and outside a class; `i` is at the backslash.
    mutating func parseEscapedItem() throws(RegexPatternError) -> EscapedItem {
        let start = i
        guard let e = peek(1) else {
            throw error(i, "the pattern ends with a lone backslash", "write \\\\ to match a backslash")
        }
        i += 2
        switch e {
        case "d": return .predicate(.digit)
        case "D": return .predicate(.notDigit)
        case "w": return .predicate(.word)
        case "W": return .predicate(.notWord)
        case "s": return .predicate(.space)
        case "S": return .predicate(.notSpace)
        case "n": return .scalar("\n")
        case "t": return .scalar("\t")
        case "r": return .scalar("\r")
        case "f": return .scalar("\u{0C}")
        case "u":
            guard let v = hex(count: 4) else {
                throw error(start, "'\\u' needs exactly four hex digits, as in \\u00e9")
            }
            return .scalar(try scalar(v, at: start))
        case "x":
            if peek() == "{" {
                i += 1
                var v: UInt32 = 0, digits = 0
                while let c = peek(), let d = c.hexDigit {
                    v = min(v &* 16 &+ d, 0x11_0000)
                    digits += 1
                    i += 1
                }
                guard digits > 0, peek() == "}" else {
                    throw error(start, "'\\x{' needs hex digits and a closing '}', as in \\x{1F600}")
                }
                i += 1
                return .scalar(try scalar(v, at: start))
            }
            guard let v = hex(count: 2) else {
                throw error(start, "'\\x' needs two hex digits (\\x41) or braces (\\x{41})")
            }
            return .scalar(try scalar(v, at: start))
        case "1"..."9", "k":
            throw error(start, "backreferences ('\\\(e)') are not supported", "match the repeated text explicitly")
        case "0":
            throw error(start, "octal escapes ('\\0') are not supported", "use \\x or \\u, as in \\x00")
        case "p", "P":
            throw error(start, "Unicode property classes ('\\\(e){...}') are not supported", "use a class such as [a-z], \\w, \\d or \\s")
        case "Q", "E":
            throw error(start, "quoting with \\Q...\\E is not supported", "escape each special character with a backslash")
        default:
            if e.value < 0x80, !e.properties.isAlphabetic, e.asciiDigit == nil {
                return .scalar(e)  // an escaped ASCII symbol or space stands for itself
            }
            throw error(start, "unsupported escape '\\\(e)'", "supported escapes: \\d \\w \\s \\D \\W \\S \\b \\B \\n \\t \\r \\f \\uXXXX \\xXX and a backslash before a symbol")
        }
    }

    mutating func hex(count: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<count {
            guard let d = peek(k)?.hexDigit else { return nil }
            v = v * 16 + d
        }
        i += count
        return v
    }

    func scalar(_ v: UInt32, at offset: Int) throws(RegexPatternError) -> Unicode.Scalar {
        guard let c = Unicode.Scalar(v) else {
            throw error(offset, "U+\(String(v, radix: 16, uppercase: true)) is not a character (a surrogate or beyond U+10FFFF)")
        }
        return c
    }

    /// `[...]` or `[^...]`: single characters, ranges `a-z`, and `\d \w \s \D \W \S`.
    mutating func parseClass() throws(RegexPatternError) -> RegexCharClass {
        let open = i
        i += 1
        var negated = false
        if peek() == "^" {
            negated = true
            i += 1
        }
        if peek() == "]" {
            throw error(i, "a class cannot start with ']'", "escape it as \\] (an empty class matches nothing anyway)")
        }
        var ranges: [ClosedRange<UInt32>] = []
        var predicates: [RegexCharClass.Predicate] = []
        var first = true
        while true {
            guard let c = peek() else {
                throw error(open, "missing ']' to close this '['", "add the ']' or escape the '[' as \\[")
            }
            if c == "]" {
                i += 1
                break
            }
            let itemStart = i
            if c == "[" {
                throw error(i, "nested classes and POSIX classes such as [:alpha:] are not supported", "escape '[' as \\[ inside a class")
            }
            if c == "&" && peek(1) == "&" {
                throw error(i, "class intersection '&&' is not supported", "escape one '&' as \\&")
            }
            if c == "-" && peek(1) == "-" {
                throw error(i, "class difference '--' is not supported", "escape '-' as \\-")
            }
            if c == "-" && !first && peek(1) != "]" {
                throw error(i, "a '-' that does not form a range must come first or last in the class", "escape it as \\-")
            }
            let item = try parseClassItem()
            first = false
            switch item {
            case .predicate(let p):
                if peek() == "-" && peek(1) != "]" && peek(1) != nil {
                    throw error(itemStart, "'\(String(String.UnicodeScalarView(s[itemStart..<i])))' cannot start a range", "escape the '-' as \\- to match it literally")
                }
                predicates.append(p)
            case .scalar(let low):
                guard peek() == "-", let after = peek(1), after != "]" else {
                    ranges.append(low.value...low.value)
                    continue
                }
                i += 1
                if after == "[" {
                    throw error(i, "nested classes are not supported", "escape '[' as \\[ inside a class")
                }
                guard case .scalar(let high) = try parseClassItem() else {
                    throw error(itemStart, "a range must end with a single character, not a class such as \\d")
                }
                guard low.value <= high.value else {
                    throw error(itemStart, "the range \(String(String.UnicodeScalarView(s[itemStart..<i]))) is out of order", "write the smaller character first")
                }
                ranges.append(low.value...high.value)
            }
        }
        return RegexCharClass(ranges: ranges, predicates: predicates, negated: negated, caseInsensitive: caseInsensitive)
    }

    mutating func parseClassItem() throws(RegexPatternError) -> EscapedItem {
        let c = s[i]
        if c == "\\" {
            if peek(1) == "b" || peek(1) == "B" {
                throw error(i, "'\\\(peek(1)!)' is not supported inside a class", "use \\x08 for a backspace, or move the boundary outside the class")
            }
            return try parseEscapedItem()
        }
        i += 1
        return .scalar(c)
    }
}

extension Unicode.Scalar {
    fileprivate var asciiDigit: Int? {
        value >= 0x30 && value <= 0x39 ? Int(value - 0x30) : nil
    }

    fileprivate var hexDigit: UInt32? {
        switch value {
        case 0x30...0x39: value - 0x30
        case 0x41...0x46: value - 0x41 + 10
        case 0x61...0x66: value - 0x61 + 10
        default: nil
        }
    }
}
