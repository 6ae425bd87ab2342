/// Character predicates with ICU's definitions, so that the linear engine answers exactly what
/// `NSRegularExpression` (ICU) answers for the supported syntax.
enum RegexUnicode {
    /// ICU's line terminators: `.` does not match them and `$` matches before a final one.
    @inline(__always)
    static func isLineTerminator(_ v: UInt32) -> Bool {
        (v >= 0x0A && v <= 0x0D) || v == 0x85 || v == 0x2028 || v == 0x2029
    }

    /// `\d`: general category Nd (any script's decimal digits, not only 0-9).
    @inline(__always)
    static func isDigit(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c.value >= 0x30 && c.value <= 0x39 }
        return c.properties.generalCategory == .decimalNumber
    }

    /// `\w` and the word characters of `\b`: Alphabetic, marks, Nd, connector punctuation, ZWNJ, ZWJ.
    @inline(__always)
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 {
            return (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x5F
        }
        if v == 0x200C || v == 0x200D { return true }
        let p = c.properties
        if p.isAlphabetic { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// `\s`: the White_Space property (includes \v, U+0085, U+00A0, U+2028, ...).
    @inline(__always)
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return v == 0x20 || (v >= 0x09 && v <= 0x0D) }
        return c.properties.isWhitespace
    }

    /// Characters `\b` looks through (ICU: Grapheme_Extend or general category Cf).
    @inline(__always)
    static func isBoundaryTransparent(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return false }
        let p = c.properties
        return p.isGraphemeExtend || p.generalCategory == .format
    }

    // MARK: Case folding

    /// Unicode simple case folding (CaseFolding.txt statuses C and S), derived from the standard
    /// library's case mappings: `K` (Kelvin) → k, `ſ` → s, `ς` → σ, `ẞ` → ß; `ß` and `İ` fold to
    /// themselves (their folding is several characters, which simple folding leaves alone).
    static func simpleFold(_ c: Unicode.Scalar) -> Unicode.Scalar {
        let v = c.value
        if v < 0x80 { return (v >= 0x41 && v <= 0x5A) ? Unicode.Scalar(UInt8(v + 32)) : c }
        var x = c
        for _ in 0..<4 {
            let p = x.properties
            guard p.changesWhenCaseFolded else { return x }
            if let l = single(p.lowercaseMapping), l != x { x = l; continue }
            if let u = single(p.uppercaseMapping), u != x { x = u; continue }
            return x
        }
        return x
    }

    private static func single(_ s: String) -> Unicode.Scalar? {
        var it = s.unicodeScalars.makeIterator()
        guard let first = it.next(), it.next() == nil else { return nil }
        return first
    }

    /// For every folded form shared by several characters, the characters other than itself:
    /// `k` → [K, K (Kelvin)]. Built once, on first case-insensitive use, from planes 0 and 1
    /// (no character above U+1FFFF has case).
    static let foldClasses: [UInt32: [Unicode.Scalar]] = {
        var table: [UInt32: [Unicode.Scalar]] = [:]
        for v in UInt32(0)..<0x2_0000 {
            guard let c = Unicode.Scalar(v), c.properties.changesWhenCaseFolded else { continue }
            let f = simpleFold(c)
            if f != c { table[f.value, default: []].append(c) }
        }
        return table
    }()

    /// Every character equal to `c` under simple case folding, `c` included.
    static func caseEquivalents(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
        let f = simpleFold(c)
        var result = [f]
        for other in foldClasses[f.value] ?? [] where other != f { result.append(other) }
        return result
    }
}

/// A set of characters: `[a-z_]`, `[^\d]`, `.`, `\w`, or a literal's case variants under `(?i)`.
struct RegexCharClass: Sendable, Equatable {
    enum Predicate: Sendable, Equatable {
        case digit, notDigit, word, notWord, space, notSpace

        func contains(_ c: Unicode.Scalar) -> Bool {
            switch self {
            case .digit: RegexUnicode.isDigit(c)
            case .notDigit: !RegexUnicode.isDigit(c)
            case .word: RegexUnicode.isWord(c)
            case .notWord: !RegexUnicode.isWord(c)
            case .space: RegexUnicode.isSpace(c)
            case .notSpace: !RegexUnicode.isSpace(c)
            }
        }
    }

    /// Inclusive scalar ranges.
    private(set) var ranges: [ClosedRange<UInt32>]
    private(set) var predicates: [Predicate]
    private(set) var negated: Bool
    /// Under `(?i)`: a character is in the class when any of its case variants is in the items
    /// (ICU closes a bracket class over case before negating it).
    private(set) var caseInsensitive: Bool
    /// The answer for each ASCII character, precomputed: bit v of `asciiLow` for v < 64, bit
    /// v - 64 of `asciiHigh` for 64 ≤ v < 128.
    private(set) var asciiLow: UInt64 = 0
    private(set) var asciiHigh: UInt64 = 0

    init(ranges: [ClosedRange<UInt32>], predicates: [Predicate] = [], negated: Bool = false, caseInsensitive: Bool = false) {
        self.ranges = ranges
        self.predicates = predicates
        self.negated = negated
        self.caseInsensitive = caseInsensitive
        for v in UInt32(0)..<128 where slowContains(Unicode.Scalar(UInt8(v))) {
            if v < 64 { asciiLow |= 1 << UInt64(v) } else { asciiHigh |= 1 << UInt64(v - 64) }
        }
    }

    static func scalar(_ c: Unicode.Scalar, caseInsensitive: Bool = false) -> RegexCharClass {
        RegexCharClass(ranges: [c.value...c.value], caseInsensitive: caseInsensitive)
    }

    /// `.`: anything but a line terminator.
    static let dot = RegexCharClass(ranges: [0x0A...0x0D, 0x85...0x85, 0x2028...0x2029], negated: true)

    static func predicate(_ p: Predicate) -> RegexCharClass { RegexCharClass(ranges: [], predicates: [p]) }

    @inline(__always)
    func contains(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 64 { return asciiLow & (1 << UInt64(v)) != 0 }
        if v < 128 { return asciiHigh & (1 << UInt64(v - 64)) != 0 }
        return slowContains(c)
    }

    /// `contains` for a scalar outside ASCII (or any scalar, without the precomputed table).
    func slowContains(_ c: Unicode.Scalar) -> Bool {
        var found = itemsContain(c)
        if !found && caseInsensitive {
            for other in RegexUnicode.caseEquivalents(c) where other != c && itemsContain(other) {
                found = true
                break
            }
        }
        return found != negated
    }

    private func itemsContain(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        for r in ranges where r.contains(v) { return true }
        for p in predicates where p.contains(c) { return true }
        return false
    }

    /// Whether some character is in both classes, tested on all of ASCII, both classes' range
    /// ends and a sample of other scripts. Used by the compile-time ambiguity checks, where a
    /// rare miss only means a pattern is accepted (it still runs in linear time).
    func overlaps(_ other: RegexCharClass) -> Bool {
        if asciiLow & other.asciiLow != 0 || asciiHigh & other.asciiHigh != 0 { return true }
        var probes = Self.probes
        for r in ranges + other.ranges {
            probes.append(r.lowerBound)
            probes.append(r.upperBound)
        }
        for v in probes {
            guard let c = Unicode.Scalar(v) else { continue }
            if contains(c) && other.contains(c) { return true }
        }
        return false
    }

    /// Letters, digits, marks, spaces and symbols outside ASCII.
    private static let probes: [UInt32] = [
        0x85, 0xA0, 0xAA, 0xB5, 0xC9, 0xDF, 0xE9, 0x17F, 0x300, 0x345, 0x3A3, 0x3C2, 0x3C3, 0x416, 0x436,
        0x5D0, 0x627, 0x663, 0x966, 0x1100, 0x2003, 0x200D, 0x2028, 0x203F, 0x20AC, 0x212A, 0x2160,
        0x3000, 0x4E2D, 0xAC00, 0xFF10, 0xFF21, 0x1F600, 0x1D7CE,
    ]
}
