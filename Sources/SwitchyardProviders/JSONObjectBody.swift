import Foundation
import SwitchyardCore

/// A request body that is a JSON object, validated and indexed once: the byte range of every
/// top-level member is recorded so that single fields (`model`, `stream`, ...) can be read and
/// rewritten without decoding the messages into a tree.
public struct JSONObjectBody: Sendable {
    public struct Member: Sendable {
        public let key: String
        /// The key including its quotes.
        let keyRange: Range<Int>
        let valueRange: Range<Int>
    }

    public struct SyntaxError: Error, Sendable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "\(reason) at byte \(offset)" }
    }

    public let bytes: [UInt8]
    public let members: [Member]

    /// Validates `bytes` as JSON whose top level is an object.
    public init(bytes: [UInt8]) throws(SyntaxError) {
        var scanner = Scanner(bytes: bytes)
        self.members = try scanner.topLevelObject()
        self.bytes = bytes
    }

    public func rawValue(_ key: String) -> ArraySlice<UInt8>? {
        members.last(where: { $0.key == key }).map { bytes[$0.valueRange] }
    }

    /// The decoded value of a top-level member; meant for small members, not `messages`.
    public func value(_ key: String) -> JSONValue? {
        guard let raw = rawValue(key) else { return nil }
        return try? JSONValue.parse(bytes: raw)
    }

    public func contains(_ key: String) -> Bool { members.contains { $0.key == key } }

    /// The body with the given members replaced (or appended, in order, when absent) by raw JSON
    /// text, and `removing` members dropped. Every other byte is copied as it came.
    public func rewritten(setting replacements: [(key: String, json: String)], removing: Set<String> = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + replacements.reduce(0) { $0 + $1.key.utf8.count + $1.json.utf8.count + 4 })
        out.append(UInt8(ascii: "{"))
        var first = true
        var written = Set<String>()
        func separator() {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
        }
        for member in members where !removing.contains(member.key) {
            separator()
            out.append(contentsOf: bytes[member.keyRange])
            out.append(UInt8(ascii: ":"))
            if let replacement = replacements.last(where: { $0.key == member.key }) {
                out.append(contentsOf: replacement.json.utf8)
                written.insert(member.key)
            } else {
                out.append(contentsOf: bytes[member.valueRange])
            }
        }
        for replacement in replacements where !written.contains(replacement.key) && !removing.contains(replacement.key) {
            written.insert(replacement.key)
            separator()
            out.append(contentsOf: JSONValue.string(replacement.key).canonicalJSON.utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: replacement.json.utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

private struct Scanner {
    let bytes: [UInt8]
    var i = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func topLevelObject() throws(JSONObjectBody.SyntaxError) -> [JSONObjectBody.Member] {
        skipSpace()
        guard peek == UInt8(ascii: "{") else { throw fail("expected a JSON object") }
        i += 1
        var members: [JSONObjectBody.Member] = []
        skipSpace()
        if peek == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipSpace()
                let keyStart = i
                let escaped = try string()
                let keyRange = keyStart..<i
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
                let valueStart = i
                try value()
                members.append(.init(key: decodeKey(keyRange, escaped: escaped), keyRange: keyRange, valueRange: valueStart..<i))
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                if peek == UInt8(ascii: "}") { i += 1; break }
                throw fail("expected ',' or '}'")
            }
        }
        skipSpace()
        guard i == bytes.count else { throw fail("unexpected text after the JSON object") }
        return members
    }

    func decodeKey(_ range: Range<Int>, escaped: Bool) -> String {
        if !escaped { return String(decoding: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)], as: UTF8.self) }
        return (try? JSONValue.parse(bytes: bytes[range]))?.stringValue ?? ""
    }

    var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

    func fail(_ reason: String) -> JSONObjectBody.SyntaxError {
        JSONObjectBody.SyntaxError(offset: i, reason: i >= bytes.count ? "unexpected end of JSON" : reason)
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    /// Scans a string; returns whether it contains escapes.
    mutating func string() throws(JSONObjectBody.SyntaxError) -> Bool {
        guard peek == UInt8(ascii: "\"") else { throw fail("expected a string") }
        i += 1
        var escaped = false
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "\""):
                i += 1
                return escaped
            case UInt8(ascii: "\\"):
                escaped = true
                i += 1
                guard let e = peek else { throw fail("unterminated string") }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 1
                case UInt8(ascii: "u"):
                    i += 1
                    for _ in 0..<4 {
                        guard let h = peek, isHex(h) else { throw fail("bad \\u escape") }
                        i += 1
                    }
                default:
                    throw fail("bad escape")
                }
            case 0..<0x20:
                throw fail("control character in string")
            default:
                i += 1
            }
        }
        throw fail("unterminated string")
    }

    func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }

    mutating func value() throws(JSONObjectBody.SyntaxError) {
        guard let b = peek else { throw fail("expected a value") }
        switch b {
        case UInt8(ascii: "\""): _ = try string()
        case UInt8(ascii: "{"): try container(close: UInt8(ascii: "}"), keyed: true)
        case UInt8(ascii: "["): try container(close: UInt8(ascii: "]"), keyed: false)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw fail("unexpected character")
        }
    }

    mutating func container(close: UInt8, keyed: Bool) throws(JSONObjectBody.SyntaxError) {
        depth += 1
        guard depth <= 512 else { throw fail("JSON nested too deeply") }
        i += 1
        skipSpace()
        if peek == close { i += 1; depth -= 1; return }
        while true {
            skipSpace()
            if keyed {
                _ = try string()
                skipSpace()
                guard peek == UInt8(ascii: ":") else { throw fail("expected ':'") }
                i += 1
                skipSpace()
            }
            try value()
            skipSpace()
            if peek == UInt8(ascii: ",") { i += 1; continue }
            if peek == close { i += 1; depth -= 1; return }
            throw fail(keyed ? "expected ',' or '}'" : "expected ',' or ']'")
        }
    }

    mutating func literal(_ word: String) throws(JSONObjectBody.SyntaxError) {
        let count = word.utf8.count
        guard i + count <= bytes.count else { throw fail("unexpected end of JSON") }
        let matches = bytes[i..<(i + count)].elementsEqual(word.utf8)
        guard matches else { throw fail("unexpected literal") }
        i += count
    }

    mutating func number() throws(JSONObjectBody.SyntaxError) {
        if peek == UInt8(ascii: "-") { i += 1 }
        guard let first = peek, first >= 0x30, first <= 0x39 else { throw fail("bad number") }
        if first == 0x30 { i += 1 } else { digits() }
        if peek == UInt8(ascii: ".") {
            i += 1
            guard let d = peek, d >= 0x30, d <= 0x39 else { throw fail("bad number") }
            digits()
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard let d = peek, d >= 0x30, d <= 0x39 else { throw fail("bad number") }
            digits()
        }
    }

    mutating func digits() {
        while let d = peek, d >= 0x30, d <= 0x39 { i += 1 }
    }
}
