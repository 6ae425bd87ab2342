import Foundation
import Testing
@testable import SwitchyardCore

/// The byte-level parser and writer against the rules they implement, and against Foundation's
/// `JSONDecoder`/`JSONEncoder` (the implementation they replaced) as a differential oracle.
@Suite struct JSONParserTests {
    // MARK: Oracle: the implementation this replaced

    enum Oracle {
        static func parse(_ bytes: [UInt8]) -> JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }

        static func canonicalJSON(_ value: JSONValue) -> String {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return (try? String(decoding: enc.encode(value), as: UTF8.self)) ?? "null"
        }

        /// False when `JSONDecoder` would read the bytes as UTF-16 or UTF-32 (its encoding sniffing
        /// on the first four bytes), which this parser deliberately does not do.
        static func readsAsUTF8(_ b: [UInt8]) -> Bool {
            let b0: UInt8? = b.count > 0 ? b[0] : nil
            let b1: UInt8? = b.count > 1 ? b[1] : nil
            let b2: UInt8? = b.count > 2 ? b[2] : nil
            let b3: UInt8? = b.count > 3 ? b[3] : nil
            switch (b0, b1, b2, b3) {
            case (0, 0, 0xFE, 0xFF), (0xFE, 0xFF, _, _), (0xFF, 0xFE, _, _): return false
            case (0xEF, 0xBB, 0xBF, _): return true
            case let (0, 0, 0, .some(x)) where x != 0: return false
            case let (0, .some(x), 0, .some(y)) where x != 0 && y != 0: return false
            case let (.some(x), 0, 0, 0) where x != 0: return false
            case let (.some(x), 0, .some(y), 0) where x != 0 && y != 0: return false
            case let (0, .some(x), nil, nil) where x != 0: return false
            case let (.some(x), 0, nil, nil) where x != 0: return false
            default: return true
            }
        }
    }

    /// Exact equality: numbers by bit pattern (-0 is not 0), strings and keys by UTF-8 bytes
    /// (`String ==` would equate canonically equivalent spellings).
    static func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.number(let x), .number(let y)): return x.bitPattern == y.bitPattern
        case (.string(let x), .string(let y)): return Array(x.utf8) == Array(y.utf8)
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            let xs = x.map { (Array($0.key.utf8), $0.value) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
            let ys = y.map { (Array($0.key.utf8), $0.value) }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
            return zip(xs, ys).allSatisfy { $0.0 == $1.0 && identical($0.1, $1.1) }
        default: return false
        }
    }

    static func parse(_ text: String) -> Result<JSONValue, JSONParseError> { parse(Array(text.utf8)) }
    static func parse(_ bytes: [UInt8]) -> Result<JSONValue, JSONParseError> {
        do {
            return .success(try bytes.withUnsafeBytes { try JSONParser.parse($0) })
        } catch {
            return .failure(error as! JSONParseError)
        }
    }

    static func error(_ text: String) -> JSONParseError? { error(Array(text.utf8)) }
    static func error(_ bytes: [UInt8]) -> JSONParseError? {
        if case .failure(let e) = parse(bytes) { return e }
        return nil
    }

    static func value(_ text: String) -> JSONValue? { try? parse(text).get() }

    /// Nil when the new parser and `JSONDecoder` agree on `bytes`; otherwise what differs.
    ///
    /// Three differences are accepted, each only once shown to be the whole difference:
    /// - a trailing comma, which `JSONDecoder` reads as if absent: without the comma both must agree;
    /// - bad string content or a bad number in the value of a shadowed duplicate key, which
    ///   `JSONDecoder` never decodes: with that byte or number token repaired, `JSONDecoder` must
    ///   answer the same and both must agree;
    /// - zero written with an exponent (`0e4`, `0.00e4`), which `JSONDecoder` rejects although
    ///   RFC 8259 allows it: written as `0`, `JSONDecoder` must give the same value.
    static func disagreement(_ bytes: [UInt8]) -> String? {
        guard Oracle.readsAsUTF8(bytes) else { return nil }
        let theirs = Oracle.parse(bytes)
        switch (parse(bytes), theirs) {
        case (.failure, nil):
            return nil
        case (.success(let ours), let theirs?):
            return identical(ours, theirs) ? nil : "values differ: \(ours) vs \(theirs)"
        case (.failure(let e), let theirs?):
            guard let repaired = repair(bytes, at: e) else { return "only Foundation accepts (\(e))" }
            guard let same = Oracle.parse(repaired), identical(same, theirs) else {
                return "only Foundation accepts (\(e)), and not as an ignorable difference"
            }
            return disagreement(repaired)
        case (.success(let ours), nil):
            let rewritten = zeroExponentsRewritten(bytes)
            if rewritten != bytes, let theirs = Oracle.parse(rewritten), identical(ours, theirs) { return nil }
            return "only the new parser accepts: \(ours)"
        }
    }

    /// `bytes` with the cause of `error` removed, when it is one `JSONDecoder` may not see.
    static func repair(_ bytes: [UInt8], at error: JSONParseError) -> [UInt8]? {
        var b = bytes
        let k = error.offset
        switch error.reason {
        case .trailingComma:
            b.remove(at: k)
        case .invalidEscape, .loneSurrogate, .invalidUTF8, .controlCharacterInString:
            b[k] = UInt8(ascii: "x")
        case .invalidNumber, .numberOutOfRange:
            let numberBytes = Set("0123456789+-.eE".utf8)
            var start = min(k, b.count - 1), end = k
            while start > 0, numberBytes.contains(b[start - 1]) { start -= 1 }
            while end < b.count, numberBytes.contains(b[end]) { end += 1 }
            b.replaceSubrange(start..<max(end, start + 1), with: [UInt8(ascii: "0")])
        default:
            return nil
        }
        return b
    }

    /// Valid JSON text with every zero-valued number that has an exponent written as `0` or `-0`.
    static func zeroExponentsRewritten(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var k = 0
        var inString = false
        while k < bytes.count {
            let c = bytes[k]
            if inString {
                out.append(c)
                if c == UInt8(ascii: "\\") { out.append(bytes[k + 1]); k += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
                k += 1
            } else if c == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c) {
                var end = k
                while end < bytes.count, Set("0123456789+-.eE".utf8).contains(bytes[end]) { end += 1 }
                let token = Array(bytes[k..<end])
                let mantissa = token.prefix { $0 | 0x20 != UInt8(ascii: "e") }
                if mantissa.count < token.count, mantissa.allSatisfy({ $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) {
                    out += Array((token[0] == UInt8(ascii: "-") ? "-0" : "0").utf8)
                } else {
                    out += token
                }
                k = end
            } else {
                if c == UInt8(ascii: "\"") { inString = true }
                out.append(c)
                k += 1
            }
        }
        return out
    }

    static func expectAgreement(_ bytes: [UInt8], _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        if let d = disagreement(bytes) {
            Issue.record("\(what): \(d) on \(String(decoding: bytes, as: UTF8.self).debugDescription) \(bytes.prefix(64))", sourceLocation: sourceLocation)
        }
    }

    // MARK: What Foundation does on this machine (the behaviour matched)

    @Test func foundationBaseline() {
        // Unpaired surrogate escapes are errors.
        #expect(Oracle.parse(Array(#""\ud800""#.utf8)) == nil)
        #expect(Oracle.parse(Array(#""\udc00""#.utf8)) == nil)
        #expect(Oracle.parse(Array(#""\ud800\u0041""#.utf8)) == nil)
        // The first of duplicate keys wins.
        #expect(Oracle.parse(Array(#"{"a":1,"a":2}"#.utf8)) == .object(["a": .number(1)]))
        // Sorted keys are in UTF-8 byte order: U+FFFF (EF BF BF) before U+1F600 (F0 ...), "B" before "a".
        #expect(Oracle.canonicalJSON(.object(["😀": .null, "\u{FFFF}": .null, "a": .null, "B": .null])) == "{\"B\":null,\"a\":null,\"\u{FFFF}\":null,\"😀\":null}")
        // Trailing commas are tolerated; 512 levels of nesting parse and 513 do not; a BOM is skipped.
        #expect(Oracle.parse(Array("[1,]".utf8)) == .array([.number(1)]))
        #expect(Oracle.parse(Array(repeating: UInt8(ascii: "["), count: 512) + Array(repeating: UInt8(ascii: "]"), count: 512)) != nil)
        #expect(Oracle.parse(Array(repeating: UInt8(ascii: "["), count: 513) + Array(repeating: UInt8(ascii: "]"), count: 513)) == nil)
        #expect(Oracle.parse([0xEF, 0xBB, 0xBF, 0x31]) == .number(1))
        // Numbers that do not fit a Double are errors, subnormals are not.
        #expect(Oracle.parse(Array("1e400".utf8)) == nil)
        #expect(Oracle.parse(Array("1e-400".utf8)) == nil)
        #expect(Oracle.parse(Array("5e-324".utf8)) == .number(.leastNonzeroMagnitude))
    }

    // MARK: Grammar

    @Test func whitespaceIsOnlySpaceTabCarriageReturnAndLineFeed() {
        #expect(Self.value(" \t\r\n[ 1 ,\t2\r\n] \n") == .array([.number(1), .number(2)]))
        for ws in ["\u{0C}", "\u{0B}", "\u{A0}", "\u{2028}", "\u{0}", "\u{FEFF}"] {
            #expect(Self.error(ws + "1") != nil || ws == "\u{FEFF}", "\(ws.debugDescription) before")
            #expect(Self.error("[1" + ws + "]") != nil, "\(ws.debugDescription) inside")
        }
    }

    @Test func literals() {
        #expect(Self.value("true") == .bool(true))
        #expect(Self.value("false") == .bool(false))
        #expect(Self.value("null") == .null)
        #expect(Self.error("tru")?.reason == .unexpectedEnd)
        #expect(Self.error("nul")?.offset == 3)
        #expect(Self.error("trUe") == JSONParseError(offset: 2, reason: .invalidLiteral))
        #expect(Self.error("True")?.reason == .unexpectedByte(UInt8(ascii: "T")))
        #expect(Self.error("nulll") == JSONParseError(offset: 4, reason: .trailingCharacters))
        #expect(Self.error("NaN") != nil && Self.error("Infinity") != nil && Self.error("-Infinity") != nil)
    }

    @Test func validNumbers() {
        let cases: [(String, Double)] = [
            ("0", 0), ("-0", -0.0), ("-0.0", -0.0), ("1", 1), ("-1", -1), ("10", 10), ("123456789", 123456789),
            ("0.5", 0.5), ("0.1", 0.1), ("-1.5e-3", -0.0015), ("1E2", 100), ("1e+2", 100), ("1e-2", 0.01), ("1e002", 100),
            ("0e0", 0), ("0.000e500", 0), ("-0e-400", -0.0), ("0.7", 0.7), ("3.14159", 3.14159), ("2.5e10", 2.5e10),
            ("9007199254740991", 9007199254740991), ("9007199254740992", 9007199254740992), ("-9007199254740991", -9007199254740991),
            ("9007199254740993", 9007199254740992), ("123456789012345678901234567890", 1.2345678901234568e29),
            ("1.7976931348623157e308", .greatestFiniteMagnitude), ("2.2250738585072014e-308", .leastNormalMagnitude),
            ("5e-324", .leastNonzeroMagnitude), ("2.4703282292062328e-324", .leastNonzeroMagnitude), ("1e-320", 1e-320),
            ("100000000000000000000e-20", 1), ("0.30000000000000004", 0.30000000000000004), ("1e22", 1e22), ("1e23", 1e23),
            ("17976931348623157" + String(repeating: "0", count: 292), .greatestFiniteMagnitude),
            ("0." + String(repeating: "0", count: 320) + "1", 1e-321),
        ]
        for (text, expected) in cases {
            #expect(Self.value(text)?.numberValue?.bitPattern == expected.bitPattern, "\(text)")
        }
        // Every integer up to 2^53 is exact, whichever path parses it.
        var rng = SplitMix64(seed: 53)
        for _ in 0..<2_000 {
            let n = Int64(bitPattern: rng.next() % (1 << 53)) * (rng.next() % 2 == 0 ? 1 : -1)
            #expect(Self.value(String(n))?.numberValue == Double(n))
        }
    }

    @Test func invalidNumbers() {
        let cases: [(String, JSONParseError.Reason, Int)] = [
            ("01", .invalidNumber, 1), ("-01", .invalidNumber, 2), ("00", .invalidNumber, 1), ("+1", .unexpectedByte(UInt8(ascii: "+")), 0),
            (".5", .unexpectedByte(UInt8(ascii: ".")), 0), ("1.", .invalidNumber, 2), ("-", .invalidNumber, 1), ("-a", .invalidNumber, 1),
            ("1e", .invalidNumber, 2), ("1e+", .invalidNumber, 3), ("1.e5", .invalidNumber, 2), ("1.5e", .invalidNumber, 4),
            ("0x10", .trailingCharacters, 1), ("1_000", .trailingCharacters, 1), ("- 1", .invalidNumber, 1), ("1e5.5", .trailingCharacters, 3),
            ("1e400", .numberOutOfRange, 0), ("-1e400", .numberOutOfRange, 0), ("1e-400", .numberOutOfRange, 0),
            ("1.7976931348623159e308", .numberOutOfRange, 0), ("2.4703282292062327e-324", .numberOutOfRange, 0),
            ("[1" + String(repeating: "0", count: 309) + "]", .numberOutOfRange, 1),
        ]
        for (text, reason, offset) in cases {
            #expect(Self.error(text) == JSONParseError(offset: offset, reason: reason), "\(text)")
        }
    }

    @Test func stringEscapes() {
        #expect(Self.value(#""\" \\ \/ \b \f \n \r \t""#) == .string("\" \\ / \u{8} \u{C} \n \r \t"))
        #expect(Self.value(#""\u0041\u00e9\u00E9\u4e2d\u0000""#) == .string("Aéé中\u{0}"))
        #expect(Self.value(#""\ud83d\ude00 \uD83D\uDE00""#) == .string("😀 😀"))
        #expect(Self.value(#""\udbff\udfff""#) == .string("\u{10FFFF}"))
        #expect(Self.value("\"caf\u{E9} \u{1F680} \u{7F}\"") == .string("café 🚀 \u{7F}"))
        #expect(Self.value(#""plain""#) == .string("plain"))
        #expect(Self.value(#""""#) == .string(""))
        for (text, offset) in [(#""\ud800""#, 1), (#""\udc00""#, 1), (#""x\ud800\u0041""#, 2), (#""\ud800x""#, 1), (#""\ud800\ud800""#, 1),
                               (#""\udc00\ud800""#, 1), (#""\ud800\n""#, 1), (#""\ud800"#, 1)] {
            #expect(Self.error(text) == JSONParseError(offset: offset, reason: .loneSurrogate), "\(text)")
        }
        for text in [#""\x""#, #""\'""#, #""\U0041""#, #""\u004""#, #""\u00G1""#, #""\ ""#, #""\a""#, #""\u""#] {
            #expect(Self.error(text) == JSONParseError(offset: 1, reason: .invalidEscape), "\(text)")
        }
        #expect(Self.error(#""\"#)?.reason == .unterminatedString)
        #expect(Self.error(#""abc"#) == JSONParseError(offset: 0, reason: .unterminatedString))
        #expect(Self.error(#"["abc\"]"#) == JSONParseError(offset: 1, reason: .unterminatedString))
    }

    @Test func controlCharactersMustBeEscaped() {
        for c in [0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F] as [UInt8] {
            #expect(Self.error([0x22, 0x61, c, 0x22]) == JSONParseError(offset: 2, reason: .controlCharacterInString))
            #expect(Self.error(Array(#""\n"#.utf8) + [c, 0x22]) == JSONParseError(offset: 3, reason: .controlCharacterInString))
        }
        #expect(Self.value("\"\u{7F}\"") == .string("\u{7F}"))
    }

    @Test func invalidUTF8IsRejectedWhereItStarts() {
        let cases: [([UInt8], Int)] = [
            ([0xFF], 0), ([0xC0, 0x80], 0), ([0xC1, 0xBF], 0), ([0xC3], 0), ([0x61, 0xE2, 0x82], 1), ([0xED, 0xA0, 0x80], 0),
            ([0xF4, 0x90, 0x80, 0x80], 0), ([0xF5, 0x80, 0x80, 0x80], 0), ([0xE0, 0x80, 0x80], 0), ([0xF0, 0x80, 0x80, 0x80], 0),
            ([0x80], 0), ([0x61, 0x62, 0xC3, 0x28], 2), ([0xC3, 0xA9, 0xBF], 2),
        ]
        for (bytes, at) in cases {
            #expect(Self.error([0x22] + bytes + [0x22]) == JSONParseError(offset: 1 + at, reason: .invalidUTF8), "\(bytes)")
            // The same with an escape after or before it (the other code path).
            #expect(Self.error([0x22] + bytes + Array(#"\n""#.utf8)) == JSONParseError(offset: 1 + at, reason: .invalidUTF8), "\(bytes)")
            #expect(Self.error(Array(#""\n"#.utf8) + bytes + [0x22]) == JSONParseError(offset: 3 + at, reason: .invalidUTF8), "\(bytes)")
        }
        #expect(Self.value("\"\u{10FFFF}\u{FFFF}\u{800}\u{80}\"") == .string("\u{10FFFF}\u{FFFF}\u{800}\u{80}"))
        // Outside strings a non-ASCII byte is just an unexpected byte.
        #expect(Self.error([0xC3, 0xA9]) == JSONParseError(offset: 0, reason: .unexpectedByte(0xC3)))
    }

    /// Strings are scanned eight bytes at a time: a special byte must be found at every position.
    @Test func specialBytesAtEveryPositionOfALongString() {
        for length in [7, 8, 9, 16, 23] {
            for at in 0..<length {
                var bytes = Array(repeating: UInt8(ascii: "a"), count: length)
                for (special, reason) in [(0x00, JSONParseError.Reason.controlCharacterInString), (0x1F, .controlCharacterInString), (0xFF, .invalidUTF8)] as [(UInt8, JSONParseError.Reason)] {
                    bytes[at] = special
                    #expect(Self.error([0x22] + bytes + [0x22]) == JSONParseError(offset: 1 + at, reason: reason), "\(special) at \(at) of \(length)")
                    #expect(Self.error(Array(#""\t"#.utf8) + bytes + [0x22]) == JSONParseError(offset: 3 + at, reason: reason), "\(special) at \(at) of \(length), after an escape")
                }
                bytes[at] = UInt8(ascii: "\"")
                #expect(Self.error([0x22] + bytes + [0x22]) == JSONParseError(offset: 2 + at, reason: .trailingCharacters))
                for (replacement, decoded) in [(#"\n"#, "\n"), (#"\""#, "\""), (#"\\"#, "\\"), ("\u{E9}", "\u{E9}"), ("\u{7F}", "\u{7F}")] {
                    let text = String(repeating: "a", count: at) + replacement + String(repeating: "a", count: length - at - 1)
                    let expected = String(repeating: "a", count: at) + decoded + String(repeating: "a", count: length - at - 1)
                    #expect(Self.value("\"" + text + "\"") == .string(expected), "\(replacement) at \(at) of \(length)")
                    #expect(JSONValue.string(expected).canonicalJSON == Oracle.canonicalJSON(.string(expected)))
                }
                for control in [0x00, 0x08, 0x0A, 0x1F] as [UInt8] {
                    let s = String(repeating: "a", count: at) + String(UnicodeScalar(control)) + String(repeating: "b", count: length - at - 1)
                    #expect(JSONValue.string(s).canonicalJSON == Oracle.canonicalJSON(.string(s)), "\(control) at \(at) of \(length)")
                }
            }
        }
    }

    @Test func duplicateKeysFirstWins() {
        #expect(Self.value(#"{"a":1,"b":2,"a":3}"#) == .object(["a": .number(1), "b": .number(2)]))
        #expect(Self.value(#"{"a":{"x":1},"a":2}"#) == .object(["a": .object(["x": .number(1)])]))
        // Canonically equivalent spellings are one key; the first spelling and value are kept.
        for (first, second) in [("\u{E9}", "e\u{301}"), ("e\u{301}", "\u{E9}")] {
            let v = Self.value("{\"\(first)\":1,\"\(second)\":2}")
            #expect(v?.objectValue?.count == 1)
            #expect(v?.objectValue?.keys.first.map { Array($0.utf8) } == Array(first.utf8))
            #expect(v?.objectValue?.values.first == .number(1))
            #expect(Self.identical(v!, Oracle.parse(Array("{\"\(first)\":1,\"\(second)\":2}".utf8))!))
        }
    }

    @Test func depthLimit() {
        func arrays(_ n: Int) -> [UInt8] { Array(repeating: UInt8(ascii: "["), count: n) + Array(repeating: UInt8(ascii: "]"), count: n) }
        func objects(_ n: Int) -> [UInt8] { Array(String(repeating: "{\"a\":", count: n).utf8) + [0x31] + Array(repeating: UInt8(ascii: "}"), count: n) }
        #expect(Self.error(arrays(512)) == nil)
        #expect(Self.error(objects(512)) == nil)
        #expect(Self.error(arrays(513)) == JSONParseError(offset: 512, reason: .tooDeep))
        #expect(Self.error(objects(513)) == JSONParseError(offset: 512 * 5, reason: .tooDeep))
        // Far too deep, unclosed, mixed: an error, never a stack overflow.
        #expect(Self.error(Array(repeating: UInt8(ascii: "["), count: 1_000_000))?.reason == .tooDeep)
        #expect(Self.error(Array(String(repeating: "[{\"k\":", count: 100_000).utf8))?.reason == .tooDeep)
        // Depth is nesting, not count: many siblings are fine.
        #expect(Self.value("[" + Array(repeating: "[[]]", count: 10_000).joined(separator: ",") + "]")?.arrayValue?.count == 10_000)
    }

    @Test func documentBoundaries() throws {
        #expect(Self.error("") == JSONParseError(offset: 0, reason: .empty))
        #expect(Self.error(" \n\t ") == JSONParseError(offset: 4, reason: .empty))
        #expect(Self.error("1 x") == JSONParseError(offset: 2, reason: .trailingCharacters))
        #expect(Self.error("[1]]") == JSONParseError(offset: 3, reason: .trailingCharacters))
        #expect(Self.error("{} {}") == JSONParseError(offset: 3, reason: .trailingCharacters))
        #expect(Self.error([0x31, 0x00]) == JSONParseError(offset: 1, reason: .trailingCharacters))
        #expect(Self.error("[1") == JSONParseError(offset: 2, reason: .unexpectedEnd))
        #expect(Self.error(#"{"a""#) == JSONParseError(offset: 4, reason: .unexpectedEnd))
        #expect(Self.error(#"{"a" 1}"#) == JSONParseError(offset: 5, reason: .unexpectedByte(UInt8(ascii: "1"))))
        #expect(Self.error(#"{a:1}"#) == JSONParseError(offset: 1, reason: .unexpectedByte(UInt8(ascii: "a"))))
        #expect(Self.error("[1 2]") == JSONParseError(offset: 3, reason: .unexpectedByte(UInt8(ascii: "2"))))
        #expect(Self.error("[,]")?.offset == 1)
        #expect(Self.error("[1,,2]")?.offset == 3)
        // Fragments (top-level scalars) are allowed, as JSONDecoder allows them.
        #expect(Self.value(#" "x" "#) == .string("x"))
        #expect(Self.value("42") == .number(42))
        // A UTF-8 byte order mark is skipped at the start only.
        #expect(try Self.parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)).get() == .array([.number(1)]))
        #expect(Self.error(Array("[".utf8) + [0xEF, 0xBB, 0xBF] + Array("1]".utf8)) == JSONParseError(offset: 1, reason: .unexpectedByte(0xEF)))
        // UTF-16 is not sniffed (JSONDecoder would read these as "1" and "[]").
        #expect(Self.error([0x31, 0x00, 0x32, 0x00]) != nil)
        #expect(Self.error([0xFE, 0xFF, 0x00, 0x31]) != nil)
    }

    @Test func trailingCommasAreRejectedAtTheComma() {
        #expect(Self.error("[1,]") == JSONParseError(offset: 2, reason: .trailingComma))
        #expect(Self.error("[1 , \n]") == JSONParseError(offset: 3, reason: .trailingComma))
        #expect(Self.error(#"{"a":1,}"#) == JSONParseError(offset: 6, reason: .trailingComma))
        #expect(Self.error(#"{"a":[[],],}"#) == JSONParseError(offset: 8, reason: .trailingComma))
        #expect(Self.error("[1,")?.reason == .unexpectedEnd)
    }

    @Test func errorsDescribeOffsetAndReason() {
        let e = Self.error(#"{"model": "gpt", "n": 01}"#)
        #expect(e?.description == "invalid JSON at byte 23: invalid number")
        #expect(Self.error("[1,]")?.description == "invalid JSON at byte 2: trailing comma")
        #expect(Self.error("?")?.description == "invalid JSON at byte 0: unexpected character '?'")
        #expect(Self.error([0x00])?.description == "invalid JSON at byte 0: unexpected byte 0x0")
        #expect(throws: JSONParseError.self) { try JSONValue.parse("{") }
    }

    @Test func entryPointsAgree() throws {
        let text = #"{"model":"openai/gpt-5.2","messages":[{"role":"user","content":"hi \u00e9"}],"n":2}"#
        let expected = try #require(Self.value(text))
        #expect(try JSONValue.parse(text) == expected)
        #expect(try JSONValue.parse(Data(text.utf8)) == expected)
        #expect(try JSONValue.parse(bytes: Array(text.utf8)) == expected)
        // A slice whose indices do not start at zero.
        let framed = Array("xxxx\(text)yyyy".utf8)
        #expect(try JSONValue.parse(bytes: framed[4..<(framed.count - 4)]) == expected)
        #expect(try JSONValue.parse(Data(framed)[4..<(framed.count - 4)]) == expected)
        // A collection without contiguous storage takes the copying path.
        #expect(try JSONValue.parse(bytes: text.utf8.lazy.map { $0 }) == expected)
        #expect(try JSONValue.parse(bytes: Substring(text).utf8) == expected)
        #expect(throws: JSONParseError(offset: 2, reason: .trailingComma)) { try JSONValue.parse(bytes: Array("[1,]".utf8)[...]) }
        #expect(throws: JSONParseError(offset: 0, reason: .empty)) { try JSONValue.parse(bytes: [UInt8]()) }
        #expect(throws: JSONParseError(offset: 0, reason: .empty)) { try JSONValue.parse(Data()) }
        #expect(throws: JSONParseError(offset: 0, reason: .empty)) { try JSONValue.parse("") }
    }

    // MARK: canonicalJSON

    @Test func canonicalNumbers() {
        let cases: [(Double, String)] = [
            (0, "0"), (-0.0, "0"), (1, "1"), (-1, "-1"), (123, "123"), (0.1, "0.1"), (1e-7, "1e-07"), (1.5e300, "1.5e+300"),
            (2.5, "2.5"), (-2.5, "-2.5"), (9e15 - 1, "8999999999999999"), (-(9e15 - 1), "-8999999999999999"), (9e15, "9000000000000000"),
            (1e16, "1e+16"), (-1e16, "-1e+16"), (1e21, "1e+21"), (.leastNonzeroMagnitude, "5e-324"), (.greatestFiniteMagnitude, "1.7976931348623157e+308"),
            (100.5, "100.5"), (1e-5, "1e-05"), (12345678.9, "12345678.9"), (0.30000000000000004, "0.30000000000000004"),
        ]
        for (n, text) in cases {
            #expect(JSONValue.number(n).canonicalJSON == text, "\(n)")
            #expect(Oracle.canonicalJSON(.number(n)) == text, "Foundation \(n)")
        }
    }

    @Test func canonicalFailsWholeLikeJSONEncoder() {
        for bad in [Double.nan, .infinity, -.infinity] {
            #expect(JSONValue.number(bad).canonicalJSON == "null")
            #expect(JSONValue.object(["a": .array([.number(1), .number(bad)])]).canonicalJSON == "null")
        }
        func nested(_ n: Int, object: Bool) -> JSONValue {
            var v = JSONValue.string("x")
            for _ in 0..<n { v = object ? .object(["k": v]) : .array([v]) }
            return v
        }
        for object in [false, true] {
            #expect(nested(511, object: object).canonicalJSON == Oracle.canonicalJSON(nested(511, object: object)))
            #expect(nested(511, object: object).canonicalJSON.utf8.count { $0 == UInt8(ascii: object ? "{" : "[") } == 511)
            #expect(nested(512, object: object).canonicalJSON == "null")
            #expect(Oracle.canonicalJSON(nested(512, object: object)) == "null")
        }
    }

    @Test func canonicalStringsAndKeyOrder() {
        let s = "a/b\"\\\u{0}\u{1}\u{1F}\u{8}\u{C}\n\r\t\u{B}\u{7F}\u{2028}é😀"
        #expect(JSONValue.string(s).canonicalJSON == #""a/b\"\\\u0000\u0001\u001f\b\f\n\r\t\u000b"# + "\u{7F}\u{2028}é😀\"")
        #expect(JSONValue.string(s).canonicalJSON == Oracle.canonicalJSON(.string(s)))
        let keys: JSONValue = .object(["b": .null, "a": .null, "B": .null, "é": .null, "z": .null, "aa": .null, "😀": .null, "\u{FFFF}": .null,
                                       "": .null, "a\u{0}": .null, "e\u{302}": .null, "\u{E9}x": .null])
        #expect(keys.canonicalJSON == Oracle.canonicalJSON(keys))
        #expect(keys.canonicalJSON.hasPrefix(#"{"":null,"B":null,"a":null,"a\u0000":null,"aa":null,"b":null,"#))
        // Keys that share their first eight bytes are ordered by the rest.
        let long: JSONValue = .object(Dictionary(uniqueKeysWithValues: ["abcdefgh", "abcdefghi", "abcdefgh\u{0}", "abcdefgha", "abcdefg", "abcdefgh\u{7F}",
                                                                        "abcdefgh\u{E9}", "abcdefgh😀", "abcdefgÿ", "abcdefgh/", "abcdefghZ"].map { ($0, JSONValue.null) }))
        #expect(long.canonicalJSON == Oracle.canonicalJSON(long))
        #expect(JSONValue.object([:]).canonicalJSON == "{}")
        #expect(JSONValue.array([]).canonicalJSON == "[]")
        #expect(JSONValue.array([.null, .bool(true), .bool(false)]).canonicalJSON == "[null,true,false]")
        let compact = JSONValue.object(["b": .array([.number(1)]), "a": .string("/")]).compactJSON
        #expect(compact == #"{"a":"/","b":[1]}"# || compact == #"{"b":[1],"a":"/"}"#)
    }

    // MARK: Differential fuzz against JSONDecoder / JSONEncoder

    static let scalarPool: [Unicode.Scalar] = [
        "a", "b", "z", "A", "0", "9", " ", "/", "\"", "\\", "\u{0}", "\u{1}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}", "\u{7F}",
        "\u{80}", "é", "\u{301}", "中", "\u{2028}", "\u{FEFF}", "\u{FFFD}", "\u{FFFF}", "😀", "\u{10FFFF}", "\u{E000}", "\u{D7FF}",
    ]

    static func randomString(_ rng: inout SplitMix64, maxLength: Int = 12) -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<Int(rng.next() % UInt64(maxLength + 1)) {
            if rng.next() % 3 == 0 {
                s.append(Unicode.Scalar(UInt8(0x20 + rng.next() % 95)))
            } else {
                s.append(scalarPool[Int(rng.next() % UInt64(scalarPool.count))])
            }
        }
        return String(s)
    }

    static let numberEdges = [
        "0", "-0", "0.0", "-0.0e-0", "1e308", "1E+308", "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308",
        "2.4703282292062328e-324", "2.4703282292062327e-324", "4.9e-324", "1e-320", "2.2250738585072011e-308", "9007199254740993",
        "9007199254740992.5", "18446744073709551616", "-9223372036854775809", "0.1e1", "1e-0", "1e00001", "123456789012345678",
    ]

    static func randomNumberText(_ rng: inout SplitMix64) -> String {
        func digits(_ n: Int, leadingNonZero: Bool) -> String {
            String((0..<n).map { k in Character(Unicode.Scalar(UInt8(ascii: "0") + UInt8(k == 0 && leadingNonZero ? 1 + rng.next() % 9 : rng.next() % 10))) })
        }
        switch rng.next() % 6 {
        case 0: return String(Int(rng.next() % 2001) - 1000)
        case 1:
            let d = Double(bitPattern: rng.next())
            return d.isFinite ? d.description : "1"
        case 2: return numberEdges[Int(rng.next() % UInt64(numberEdges.count))]
        case 3: return (rng.next() % 2 == 0 ? "-" : "") + digits(Int(1 + rng.next() % 25), leadingNonZero: true)
        default:
            var s = rng.next() % 3 == 0 ? "-" : ""
            s += rng.next() % 3 == 0 ? "0" : digits(Int(1 + rng.next() % 20), leadingNonZero: true)
            if rng.next() % 3 != 0 { s += "." + digits(Int(1 + rng.next() % 22), leadingNonZero: false) }
            if rng.next() % 2 == 0 {
                s += rng.next() % 2 == 0 ? "e" : "E"
                s += ["", "+", "-"][Int(rng.next() % 3)]
                s += String(rng.next() % (rng.next() % 4 == 0 ? 420 : 30))
            }
            return s
        }
    }

    /// Writes a random valid JSON text, varying whitespace, escape spelling and number spelling.
    static func writeRandomDocument(_ rng: inout SplitMix64, depth: Int, into out: inout [UInt8]) {
        func ws() {
            if rng.next() % 4 == 0 { out += Array([" ", "\n", "\t", "\r\n  ", "  "][Int(rng.next() % 5)].utf8) }
        }
        func hex4(_ v: UInt32) {
            let digits = Array(String(v, radix: 16, uppercase: rng.next() % 2 == 0).utf8)
            out += Array(repeating: UInt8(ascii: "0"), count: 4 - digits.count) + digits
        }
        func string(_ s: String) {
            out.append(UInt8(ascii: "\""))
            for scalar in s.unicodeScalars {
                let v = scalar.value
                let short: [UInt32: UInt8] = [0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x08: 0x62, 0x0C: 0x66, 0x0A: 0x6E, 0x0D: 0x72, 0x09: 0x74]
                let mustEscape = v < 0x20 || v == 0x22 || v == 0x5C
                if mustEscape || rng.next() % 8 == 0 {
                    if let c = short[v], rng.next() % 2 == 0 {
                        out += [UInt8(ascii: "\\"), c]
                    } else if v >= 0x10000 {
                        let u = v - 0x10000
                        out += Array("\\u".utf8); hex4(0xD800 + (u >> 10))
                        out += Array("\\u".utf8); hex4(0xDC00 + (u & 0x3FF))
                    } else {
                        out += Array("\\u".utf8); hex4(v)
                    }
                } else {
                    out += Array(String(scalar).utf8)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        let kind = depth <= 0 ? rng.next() % 4 : rng.next() % 6
        switch kind {
        case 0: out += Array(["null", "true", "false"][Int(rng.next() % 3)].utf8)
        case 1: out += Array(randomNumberText(&rng).utf8)
        case 2, 3: string(randomString(&rng))
        case 4:
            out.append(UInt8(ascii: "[")); ws()
            for k in 0..<Int(rng.next() % 5) {
                if k > 0 { out.append(UInt8(ascii: ",")); ws() }
                writeRandomDocument(&rng, depth: depth - 1, into: &out); ws()
            }
            out.append(UInt8(ascii: "]"))
        default:
            out.append(UInt8(ascii: "{")); ws()
            let keyPool = ["a", "b", "model", "\u{E9}", "e\u{301}", ""]
            for k in 0..<Int(rng.next() % 5) {
                if k > 0 { out.append(UInt8(ascii: ",")); ws() }
                string(rng.next() % 2 == 0 ? keyPool[Int(rng.next() % UInt64(keyPool.count))] : randomString(&rng, maxLength: 4)); ws()
                out.append(UInt8(ascii: ":")); ws()
                writeRandomDocument(&rng, depth: depth - 1, into: &out); ws()
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static let damage: [UInt8] = Array(",]}[{\":\\u0123456789-+.eE tnf \r\n\t".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xA9, 0xED, 0xA0, 0xF0, 0xF4, 0xFF, 0xEF, 0xBB]

    static func mutate(_ doc: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = doc
        for _ in 0..<Int(1 + rng.next() % 3) {
            let at = bytes.isEmpty ? 0 : Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 6 {
            case 0: if !bytes.isEmpty { bytes.remove(at: at) }
            case 1: bytes.insert(damage[Int(rng.next() % UInt64(damage.count))], at: at)
            case 2: if !bytes.isEmpty { bytes[at] = damage[Int(rng.next() % UInt64(damage.count))] }
            case 3: bytes.removeSubrange(at...)
            case 4:
                let n = min(Int(1 + rng.next() % 8), bytes.count - at)
                if n > 0 { bytes.insert(contentsOf: bytes[at..<(at + n)], at: at) }
            default: if !bytes.isEmpty { bytes[at] = UInt8(truncatingIfNeeded: rng.next()) }
            }
        }
        return bytes
    }

    @Test func differentialRandomDocumentsAndMutations() {
        var rng = SplitMix64(seed: 0x4A53_4F4E)
        var accepted = 0, rejected = 0
        for i in 0..<4_000 {
            var doc: [UInt8] = []
            if rng.next() % 3 == 0 { doc += Array([" ", "\n"][Int(rng.next() % 2)].utf8) }
            Self.writeRandomDocument(&rng, depth: Int(rng.next() % 5), into: &doc)
            Self.expectAgreement(doc, "document \(i)")
            if (try? Self.parse(doc).get()) != nil { accepted += 1 }
            for m in 0..<3 {
                let damaged = Self.mutate(doc, &rng)
                Self.expectAgreement(damaged, "mutation \(m) of document \(i)")
                if case .failure = Self.parse(damaged) { rejected += 1 }
            }
            let cut = Array(doc.prefix(Int(rng.next() % UInt64(doc.count + 1))))
            Self.expectAgreement(cut, "truncation of document \(i)")
        }
        // The generator writes valid JSON (but for numbers out of a Double's range), and the
        // damage is not all harmless.
        #expect(accepted > 3_900)
        #expect(rejected > 4_000)
    }

    @Test func differentialNumbers() {
        var rng = SplitMix64(seed: 1e15.bitPattern)
        for i in 0..<20_000 {
            Self.expectAgreement(Array(Self.randomNumberText(&rng).utf8), "number \(i)")
            // Long mantissas near a double and its neighbour, where rounding is hardest.
            let d = Double(bitPattern: rng.next() >> 2)
            if d.isFinite, d != 0 {
                var long = String(format: "%.25e", d)
                if rng.next() % 2 == 0 { long = String(format: "%.40e", (d + d.nextUp) / 2) }
                Self.expectAgreement(Array(long.utf8), "long number \(i)")
            }
        }
    }

    @Test func differentialRandomBytes() {
        var rng = SplitMix64(seed: 99)
        let alphabet: [UInt8] = Array("[]{}\",:0123456789-.eE+ \\untrfals".utf8) + [0x00, 0x09, 0x0A, 0x80, 0xC3, 0xA9, 0xFF]
        for i in 0..<30_000 {
            let n = Int(rng.next() % 10)
            let bytes: [UInt8] = (0..<n).map { _ in
                rng.next() % 4 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[Int(rng.next() % UInt64(alphabet.count))]
            }
            Self.expectAgreement(bytes, "bytes \(i)")
        }
    }

    @Test func differentialDeepDocuments() {
        for depth in [510, 511, 512, 513, 600] {
            for open in ["[", "{\"a\":", "[{\"a\":"] {
                let close = open == "[" ? "]" : open == "{\"a\":" ? "}" : "}]"
                let text = String(repeating: open, count: depth) + "1" + String(repeating: close, count: depth)
                Self.expectAgreement(Array(text.utf8), "depth \(depth) of \(open)")
            }
        }
    }

    static func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        switch depth <= 0 ? rng.next() % 4 : rng.next() % 6 {
        case 0: return [.null, .bool(true), .bool(false)][Int(rng.next() % 3)]
        case 1:
            switch rng.next() % 8 {
            case 0:
                if rng.next() % 10 == 0 { return .number([.nan, .infinity, -.infinity][Int(rng.next() % 3)]) }
                return .number(Double(bitPattern: rng.next()))
            case 1: return .number(Double(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64)))
            case 2: return .number(9e15 + Double(Int(rng.next() % 9) - 4))
            case 3: return .number([-0.0, 0.1, 1e-7, 1.5e300, 1e16, .leastNonzeroMagnitude, .greatestFiniteMagnitude, 0.5, -2.5][Int(rng.next() % 9)])
            case 4: return .number(Double(Int(rng.next() % 2001) - 1000) / [1, 10, 100, 1000, 3][Int(rng.next() % 5)])
            default: return .number(Double(bitPattern: rng.next() % 0x7FF0_0000_0000_0000) * (rng.next() % 2 == 0 ? 1 : -1))
            }
        case 2, 3: return .string(randomString(&rng, maxLength: 16))
        case 4: return .array((0..<Int(rng.next() % 5)).map { _ in randomValue(&rng, depth: depth - 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<Int(rng.next() % 6) { o[randomString(&rng, maxLength: 5)] = randomValue(&rng, depth: depth - 1) }
            return .object(o)
        }
    }

    @Test func differentialCanonicalJSON() throws {
        var rng = SplitMix64(seed: 0xC0FFEE)
        var nulls = 0
        for i in 0..<6_000 {
            let v = Self.randomValue(&rng, depth: Int(rng.next() % 5))
            let ours = v.canonicalJSON
            #expect(ours == Oracle.canonicalJSON(v), "value \(i): \(v)")
            if ours == "null" { nulls += 1; continue }
            // What it writes parses back to a value that writes the same text.
            let again = try JSONValue.parse(ours)
            #expect(again.canonicalJSON == ours, "round trip \(i)")
        }
        #expect(nulls > 10 && nulls < 2_000)
    }
}
