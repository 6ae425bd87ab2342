import Foundation

/// Why a JSON text was rejected, and at which byte.
public struct JSONParseError: Error, CustomStringConvertible, Hashable, Sendable {
    /// The offset, in bytes from the start of the input, of the byte that made the text invalid.
    public let offset: Int
    public let reason: Reason

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }

    /// What was wrong; compare with the static members (`error.reason == .trailingComma`).
    public struct Reason: Hashable, Sendable, CustomStringConvertible {
        private enum Code: Hashable, Sendable {
            case empty, unexpectedEnd, unexpectedByte(UInt8), trailingCharacters, trailingComma
            case invalidLiteral, invalidNumber, numberOutOfRange
            case unterminatedString, controlCharacterInString, invalidEscape, loneSurrogate, invalidUTF8
            case tooDeep
        }
        private let code: Code
        private init(_ code: Code) { self.code = code }

        public static let empty = Reason(.empty)
        public static let unexpectedEnd = Reason(.unexpectedEnd)
        public static func unexpectedByte(_ byte: UInt8) -> Reason { Reason(.unexpectedByte(byte)) }
        public static let trailingCharacters = Reason(.trailingCharacters)
        /// A `,` directly before `]` or `}` (which Foundation's `JSONDecoder` tolerates and RFC 8259 does not).
        public static let trailingComma = Reason(.trailingComma)
        public static let invalidLiteral = Reason(.invalidLiteral)
        public static let invalidNumber = Reason(.invalidNumber)
        /// A number whose value overflows to infinity, or underflows to zero although it has non-zero digits.
        public static let numberOutOfRange = Reason(.numberOutOfRange)
        public static let unterminatedString = Reason(.unterminatedString)
        public static let controlCharacterInString = Reason(.controlCharacterInString)
        public static let invalidEscape = Reason(.invalidEscape)
        /// A `\uD800`–`\uDFFF` escape that is not a high surrogate followed by an escaped low surrogate.
        public static let loneSurrogate = Reason(.loneSurrogate)
        public static let invalidUTF8 = Reason(.invalidUTF8)
        /// Arrays and objects nested deeper than ``JSONParser/maximumDepth``.
        public static let tooDeep = Reason(.tooDeep)

        public var description: String {
            switch code {
            case .empty: "no value (empty input)"
            case .unexpectedEnd: "unexpected end of input"
            case .unexpectedByte(let b):
                (0x21...0x7e).contains(b) ? "unexpected character '\(Character(Unicode.Scalar(b)))'" : "unexpected byte 0x\(String(b, radix: 16, uppercase: true))"
            case .trailingCharacters: "unexpected data after the value"
            case .trailingComma: "trailing comma"
            case .invalidLiteral: "invalid literal (expected true, false or null)"
            case .invalidNumber: "invalid number"
            case .numberOutOfRange: "number out of the range of a double"
            case .unterminatedString: "unterminated string"
            case .controlCharacterInString: "unescaped control character in string"
            case .invalidEscape: "invalid escape sequence"
            case .loneSurrogate: "unpaired UTF-16 surrogate in \\u escape"
            case .invalidUTF8: "invalid UTF-8"
            case .tooDeep: "arrays and objects nested deeper than \(JSONParser.maximumDepth)"
            }
        }
    }
}

/// A strict RFC 8259 recursive-descent parser from UTF-8 bytes to ``JSONValue``.
///
/// Where RFC 8259 leaves room, it decides as Foundation's `JSONDecoder` (into `JSONValue`) does:
/// top-level scalars are allowed, a leading UTF-8 byte order mark is skipped, the first of
/// duplicate object keys wins, numbers that overflow or underflow to zero are rejected, and
/// nesting stops at 512 levels. Unlike `JSONDecoder` it rejects trailing commas and does not
/// guess UTF-16 or UTF-32 input.
public struct JSONParser {
    public static let maximumDepth = 512

    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var i = 0
    private var depth = 0
    /// Reused for strings with escapes.
    private var scratch: [UInt8] = []
    /// Elements and members of the open arrays and objects, so each container is allocated once
    /// at its final size.
    private var pendingElements: [JSONValue] = []
    private var pendingMembers: [(key: String, value: JSONValue)] = []

    /// Parses one JSON text. The buffer must stay valid for the duration of the call only.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        guard let raw = bytes.baseAddress, bytes.count > 0 else { throw JSONParseError(offset: 0, reason: .empty) }
        var parser = JSONParser(base: raw.assumingMemoryBound(to: UInt8.self), end: bytes.count)
        return try parser.parseDocument()
    }

    private init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    private func fail(_ reason: JSONParseError.Reason, at offset: Int) -> JSONParseError {
        JSONParseError(offset: offset, reason: reason)
    }

    private mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if end >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { i = 3 }
        skipWhitespace()
        guard i < end else { throw fail(.empty, at: i) }
        let value = try parseValue()
        skipWhitespace()
        guard i == end else { throw fail(.trailingCharacters, at: i) }
        return value
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < end {
            switch base[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return
            }
        }
    }

    /// Parses the value at `i` (whitespace already skipped).
    private mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard i < end else { throw fail(.unexpectedEnd, at: i) }
        switch base[i] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        case let b: throw fail(.unexpectedByte(b), at: i)
        }
    }

    private mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        let w = word.utf8Start
        for k in 0..<n where i + k >= end || base[i + k] != w[k] {
            throw fail(i + k >= end ? .unexpectedEnd : .invalidLiteral, at: i + k)
        }
        i += n
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maximumDepth { throw fail(.tooDeep, at: i) }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        try enter()
        i += 1
        skipWhitespace()
        if i < end, base[i] == UInt8(ascii: "]") {
            i += 1
            depth -= 1
            return .array([])
        }
        let first = pendingElements.count
        while true {
            pendingElements.append(try parseValue())
            if try endOfElement(closing: UInt8(ascii: "]")) {
                let elements = Array(pendingElements[first...])
                pendingElements.removeSubrange(first...)
                return .array(elements)
            }
        }
    }

    /// After an array element or object member: true when the container's closing byte follows
    /// (consumed), false after a comma (consumed) that another element follows.
    private mutating func endOfElement(closing: UInt8) throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard i < end else { throw fail(.unexpectedEnd, at: i) }
        switch base[i] {
        case UInt8(ascii: ","):
            let comma = i
            i += 1
            skipWhitespace()
            if i < end, base[i] == closing { throw fail(.trailingComma, at: comma) }
            return false
        case closing:
            i += 1
            depth -= 1
            return true
        case let b:
            throw fail(.unexpectedByte(b), at: i)
        }
    }

    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        try enter()
        i += 1
        skipWhitespace()
        if i < end, base[i] == UInt8(ascii: "}") {
            i += 1
            depth -= 1
            return .object([:])
        }
        let first = pendingMembers.count
        while true {
            guard i < end else { throw fail(.unexpectedEnd, at: i) }
            guard base[i] == UInt8(ascii: "\"") else { throw fail(.unexpectedByte(base[i]), at: i) }
            let key = try parseString()
            skipWhitespace()
            guard i < end else { throw fail(.unexpectedEnd, at: i) }
            guard base[i] == UInt8(ascii: ":") else { throw fail(.unexpectedByte(base[i]), at: i) }
            i += 1
            skipWhitespace()
            pendingMembers.append((key, try parseValue()))
            if try endOfElement(closing: UInt8(ascii: "}")) {
                var members = [String: JSONValue](minimumCapacity: pendingMembers.count - first)
                for (key, value) in pendingMembers[first...] {
                    // The first of duplicate keys wins, as with JSONDecoder; `updateValue` keeps
                    // the first key's spelling, which matters for canonically equivalent keys.
                    if let earlier = members.updateValue(value, forKey: key) { members[key] = earlier }
                }
                pendingMembers.removeSubrange(first...)
                return .object(members)
            }
        }
    }

    // MARK: Strings

    /// Parses the string whose opening quote is at `i`.
    private mutating func parseString() throws(JSONParseError) -> String {
        let open = i
        i += 1
        let start = i
        let nonASCII = skipPlainStringBytes()
        guard i < end else { throw fail(.unterminatedString, at: open) }
        switch base[i] {
        case UInt8(ascii: "\""):
            let s = try makeString(UnsafeBufferPointer(start: base + start, count: i - start), nonASCII: nonASCII, rawStart: start)
            i += 1
            return s
        case UInt8(ascii: "\\"):
            return try parseEscapedString(open: open, start: start, nonASCII: nonASCII)
        default:
            throw fail(.controlCharacterInString, at: i)
        }
    }

    /// Whether any of eight bytes is `"`, `\` or below 0x20. Each term has a byte's high bit set
    /// for a zero byte (resp. one below 0x20); false positives only follow a true one.
    @inline(__always)
    static func hasStringSpecial(_ x: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = x ^ (ones &* 0x22)
        let backslash = x ^ (ones &* 0x5C)
        let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((x &- ones &* 0x20) & ~x)
        return special & 0x8080_8080_8080_8080 != 0
    }

    /// Moves `i` to the first `"`, `\` or control character at or after it (or to the end), eight
    /// bytes at a time where it can, and says whether it passed over any non-ASCII byte.
    @inline(__always)
    private mutating func skipPlainStringBytes() -> Bool {
        let highs: UInt64 = 0x8080_8080_8080_8080
        var k = i
        var seen: UInt64 = 0
        while end - k >= 8 {
            let x = UnsafeRawPointer(base + k).loadUnaligned(as: UInt64.self)
            if Self.hasStringSpecial(x) { break }
            seen |= x
            k += 8
        }
        while k < end {
            let b = base[k]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b < 0x20 { break }
            seen |= UInt64(b)
            k += 1
        }
        i = k
        return seen & highs != 0
    }

    private func makeString(_ bytes: UnsafeBufferPointer<UInt8>, nonASCII: Bool, rawStart: Int) throws(JSONParseError) -> String {
        if !nonASCII { return String(decoding: bytes, as: UTF8.self) }
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        throw fail(.invalidUTF8, at: firstInvalidUTF8(from: rawStart))
    }

    /// The rest of a string from its first backslash (at `i`); `start` is just after the quote and
    /// `nonASCII` says whether a byte before the backslash was not ASCII.
    private mutating func parseEscapedString(open: Int, start: Int, nonASCII: Bool) throws(JSONParseError) -> String {
        scratch.removeAll(keepingCapacity: true)
        // Bytes from escapes are valid UTF-8 by construction; only raw bytes need validating.
        var nonASCII = nonASCII
        var run = start
        while i < end {
            switch base[i] {
            case UInt8(ascii: "\""):
                appendRun(from: run)
                i += 1
                let bytes = scratch
                return try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
                    try makeString(buffer, nonASCII: nonASCII, rawStart: start)
                }
            case UInt8(ascii: "\\"):
                appendRun(from: run)
                try appendEscape()
                run = i
                if skipPlainStringBytes() { nonASCII = true }
            default:
                throw fail(.controlCharacterInString, at: i)
            }
        }
        throw fail(.unterminatedString, at: open)
    }

    @inline(__always)
    private mutating func appendRun(from run: Int) {
        if i > run { scratch.append(contentsOf: UnsafeBufferPointer(start: base + run, count: i - run)) }
    }

    /// Decodes the escape whose backslash is at `i` into `scratch` and moves past it.
    private mutating func appendEscape() throws(JSONParseError) {
        let backslash = i
        guard i + 1 < end else { throw fail(.unterminatedString, at: backslash) }
        let e = base[i + 1]
        i += 2
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(e)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var unit = try hex4(escapeAt: backslash)
            if unit >= 0xD800, unit < 0xE000 {
                guard unit < 0xDC00, i + 1 < end, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") else {
                    throw fail(.loneSurrogate, at: backslash)
                }
                let lowEscape = i
                i += 2
                let low = try hex4(escapeAt: lowEscape)
                guard low >= 0xDC00, low < 0xE000 else { throw fail(.loneSurrogate, at: backslash) }
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            }
            appendUTF8(unit)
        default:
            throw fail(.invalidEscape, at: backslash)
        }
    }

    /// Reads the four hex digits at `i`.
    private mutating func hex4(escapeAt backslash: Int) throws(JSONParseError) -> UInt32 {
        guard i + 4 <= end else { throw fail(.invalidEscape, at: backslash) }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = base[i + k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c &- UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c &- UInt8(ascii: "A") &+ 10
            default: throw fail(.invalidEscape, at: backslash)
            }
            v = v << 4 | UInt32(d)
        }
        i += 4
        return v
    }

    private mutating func appendUTF8(_ v: UInt32) {
        switch v {
        case 0..<0x80:
            scratch.append(UInt8(v))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | v >> 6))
            scratch.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | v >> 12))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | v >> 18))
            scratch.append(UInt8(0x80 | v >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | v >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | v & 0x3F))
        }
    }

    /// The offset of the first ill-formed UTF-8 sequence at or after `offset` (only called once a
    /// string is known to hold one; escapes are ASCII, so scanning the raw bytes finds it).
    private func firstInvalidUTF8(from offset: Int) -> Int {
        var k = offset
        while k < end {
            let b = base[k]
            let length: Int
            var lowest: UInt8 = 0x80
            var highest: UInt8 = 0xBF
            switch b {
            case 0x00..<0x80: k += 1; continue
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lowest = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; highest = 0x9F
            case 0xF0: length = 4; lowest = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; highest = 0x8F
            default: return k
            }
            for n in 1..<length {
                guard k + n < end else { return k }
                let c = base[k + n]
                if n == 1 ? !(lowest...highest).contains(c) : !(0x80...0xBF).contains(c) { return k }
            }
            k += length
        }
        return end
    }

    // MARK: Numbers

    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    @inline(__always)
    private func isDigit(_ k: Int) -> Bool { k < end && base[k] &- UInt8(ascii: "0") < 10 }

    /// Parses the number at `i` with the exact RFC 8259 grammar.
    private mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = i
        let negative = base[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        // Up to 19 significant digits are accumulated exactly; `significant` counts all of them.
        var mantissa: UInt64 = 0
        var significant = 0
        var fractionDigits = 0
        guard i < end else { throw fail(.invalidNumber, at: i) }
        if base[i] == UInt8(ascii: "0") {
            i += 1
            if isDigit(i) { throw fail(.invalidNumber, at: i) }
        } else if isDigit(i) {
            while isDigit(i) {
                if significant < 19 { mantissa = mantissa &* 10 &+ UInt64(base[i] &- UInt8(ascii: "0")) }
                significant += 1
                i += 1
            }
        } else {
            throw fail(.invalidNumber, at: i)
        }
        var simple = true
        if i < end, base[i] == UInt8(ascii: ".") {
            simple = false
            i += 1
            guard isDigit(i) else { throw fail(.invalidNumber, at: i) }
            while isDigit(i) {
                let d = base[i] &- UInt8(ascii: "0")
                if significant > 0 || d != 0 {
                    if significant < 19 { mantissa = mantissa &* 10 &+ UInt64(d) }
                    significant += 1
                }
                fractionDigits += 1
                i += 1
            }
        }
        var exponent = 0
        if i < end, base[i] | 0x20 == UInt8(ascii: "e") {
            simple = false
            i += 1
            var exponentNegative = false
            if i < end, base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-") {
                exponentNegative = base[i] == UInt8(ascii: "-")
                i += 1
            }
            guard isDigit(i) else { throw fail(.invalidNumber, at: i) }
            while isDigit(i) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(base[i] &- UInt8(ascii: "0")) }
                i += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        if mantissa == 0 && significant == 0 { return negative ? -0.0 : 0.0 }
        if simple && significant <= 15 {
            let v = Double(mantissa)
            return negative ? -v : v
        }
        // Clinger's fast path: an exact mantissa times or divided by an exact power of ten
        // rounds once, so it is correctly rounded.
        let scale = exponent - fractionDigits
        if significant <= 15, scale >= -22, scale <= 22 {
            let m = Double(mantissa)
            let v = scale < 0 ? m / Self.exactPowersOfTen[-scale] : m * Self.exactPowersOfTen[scale]
            return negative ? -v : v
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: i - start), as: UTF8.self)
        guard let v = Double(text) else { throw fail(.invalidNumber, at: start) }
        // Foundation rejects what does not fit a Double rather than rounding it to ±inf or ±0.
        if !v.isFinite || v == 0 { throw fail(.numberOutOfRange, at: start) }
        return v
    }
}

extension JSONValue {
    /// Parses one JSON text (UTF-8). Throws ``JSONParseError``.
    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { buffer throws(JSONParseError) in try JSONParser.parse(buffer) }
    }

    public static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { buffer throws(JSONParseError) in try JSONParser.parse(UnsafeRawBufferPointer(buffer)) }
    }

    /// Parses JSON from any byte collection; contiguous ones (`[UInt8]`, `ArraySlice<UInt8>`,
    /// `ByteBuffer.readableBytesView`) are read in place.
    public static func parse(bytes: some Collection<UInt8>) throws -> JSONValue {
        let result: Result<JSONValue, JSONParseError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONParseError) in try JSONParser.parse(UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBytes { buffer throws(JSONParseError) in try JSONParser.parse(buffer) }
    }
}
