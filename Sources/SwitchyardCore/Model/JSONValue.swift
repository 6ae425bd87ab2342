import Foundation

/// A JSON value: request bodies, metadata, `set` overrides and condition literals.
///
/// Numbers are kept as `Double`; integers up to 2^53 round-trip exactly.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The name of the value's type, as diagnostics and `explain` print it.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "list"
        case .object: "object"
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var numberValue: Double? { if case .number(let n) = self { return n }; return nil }
    /// A whole number that fits an `Int` exactly (|n| < 2^53); nil otherwise. `Int(someDouble)`
    /// traps on values out of range, and numbers here come from clients and upstreams.
    public var intValue: Int? {
        guard case .number(let n) = self, n.rounded() == n, abs(n) < 9.007_199_254_740_992e15 else { return nil }
        return Int(n)
    }
    /// A token count as an upstream reported it, clamped to `0...Usage.maxTokens` (fractions dropped);
    /// 0 for anything that is not a number below 2^53. Upstreams are not trusted to send sane counts.
    public var tokenCount: Int {
        // Beyond 2^53 a double is no longer an exact count: read as absent, like any non-number.
        guard case .number(let n) = self, n > 0, n < 9.007_199_254_740_992e15 else { return 0 }
        return n >= Double(Usage.maxTokens) ? Usage.maxTokens : Int(n.rounded(.down))
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue {
    /// Compact JSON text with keys sorted by their UTF-8 bytes (canonical form).
    ///
    /// Byte for byte what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes for
    /// the `Codable` conformance above, including its failure: a non-finite number, or arrays and
    /// objects nested 512 deep, make the whole text `null`.
    public var canonicalJSON: String { JSONWriter.write(self, keyOrder: .utf8) }

    /// Like ``canonicalJSON`` but with object members in dictionary order (not stable between processes).
    public var compactJSON: String { JSONWriter.write(self, keyOrder: .dictionary) }

    /// Like ``canonicalJSON`` but with each object's keys ordered by `precedes`: for wire formats
    /// whose fields have a conventional order (OpenAI's `id`, `object`, `created`, ...).
    public func compactJSON(orderingKeysBy precedes: @escaping (String, String) -> Bool) -> String {
        JSONWriter.write(self, keyOrder: .custom(precedes))
    }
}

/// The serializer behind ``JSONValue/canonicalJSON``.
private struct JSONWriter {
    /// `JSONEncoder` refuses to write containers nested this deep.
    static let maximumDepth = 512

    struct Unencodable: Error {}

    enum KeyOrder {
        case dictionary
        /// By UTF-8 bytes, as `JSONEncoder`'s `.sortedKeys`.
        case utf8
        case custom((String, String) -> Bool)
    }

    var out: [UInt8] = []
    let keyOrder: KeyOrder

    static func write(_ value: JSONValue, keyOrder: KeyOrder) -> String {
        var writer = JSONWriter(keyOrder: keyOrder)
        writer.out.reserveCapacity(128)
        do {
            try writer.write(value, depth: 0)
        } catch {
            return "null"
        }
        return String(decoding: writer.out, as: UTF8.self)
    }

    mutating func write(_ value: JSONValue, depth: Int) throws(Unencodable) {
        switch value {
        case .null: append("null")
        case .bool(let b): append(b ? "true" : "false")
        case .number(let n): try writeNumber(n)
        case .string(let s): writeString(s)
        case .array(let a):
            guard depth + 1 < Self.maximumDepth else { throw Unencodable() }
            out.append(UInt8(ascii: "["))
            var first = true
            for element in a {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                try write(element, depth: depth + 1)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            guard depth + 1 < Self.maximumDepth else { throw Unencodable() }
            out.append(UInt8(ascii: "{"))
            var first = true
            func member(_ key: String, _ value: JSONValue) throws(Unencodable) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(key)
                out.append(UInt8(ascii: ":"))
                try write(value, depth: depth + 1)
            }
            switch keyOrder {
            case .dictionary:
                for (key, value) in o { try member(key, value) }
            case .utf8:
                // Sorted by the keys' first eight UTF-8 bytes, then by all of them.
                var members: [(prefix: UInt64, key: String, value: JSONValue)] = []
                members.reserveCapacity(o.count)
                for (key, value) in o { members.append((Self.utf8Prefix(key), key, value)) }
                members.sort { $0.prefix != $1.prefix ? $0.prefix < $1.prefix : Self.utf8Precedes($0.key, $1.key) }
                for (_, key, value) in members { try member(key, value) }
            case .custom(let precedes):
                for key in o.keys.sorted(by: precedes) { try member(key, o[key]!) }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The `Codable` conformance's rule: integral values below 9e15 as integers, others as
    /// `JSONEncoder` writes a `Double` (its `description` without a trailing `.0`).
    mutating func writeNumber(_ n: Double) throws(Unencodable) {
        if n.rounded() == n, abs(n) < 9.0e15 {
            writeInteger(Int64(n))
            return
        }
        guard n.isFinite else { throw Unencodable() }
        var text = n.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out.append(contentsOf: text.utf8)
    }

    mutating func writeInteger(_ v: Int64) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = v.magnitude
        if magnitude < 10 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var k = 20
            while magnitude > 0 {
                k -= 1
                digits[k] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[k..<20]))
        }
    }

    /// Escapes as `JSONEncoder` does with `.withoutEscapingSlashes`: `"` and `\\`, the five short
    /// control escapes, other control characters as lowercase `\u00xx`; everything else raw.
    mutating func writeString(_ s: String) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            guard let p = bytes.baseAddress else { return }
            let n = bytes.count
            var run = 0
            var k = 0
            while true {
                while n - k >= 8, !JSONParser.hasStringSpecial(UnsafeRawPointer(p + k).loadUnaligned(as: UInt64.self)) { k += 8 }
                while k < n, p[k] >= 0x20, p[k] != UInt8(ascii: "\""), p[k] != UInt8(ascii: "\\") { k += 1 }
                if k == n { break }
                let b = p[k]
                if k > run { out.append(contentsOf: UnsafeBufferPointer(start: p + run, count: k - run)) }
                k += 1
                run = k
                out.append(UInt8(ascii: "\\"))
                switch b {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(b)
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex.utf8Start[Int(b >> 4)], hex.utf8Start[Int(b & 0xF)]])
                }
            }
            if n > run { out.append(contentsOf: UnsafeBufferPointer(start: p + run, count: n - run)) }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// The first eight UTF-8 bytes, big-endian, zero-padded: ordered as the bytes are when they differ.
    static func utf8Prefix(_ s: String) -> UInt64 {
        var prefix: UInt64 = 0
        var shift: UInt64 = 56
        for b in s.utf8 {
            prefix |= UInt64(b) << shift
            if shift == 0 { break }
            shift -= 8
        }
        return prefix
    }

    /// `JSONEncoder`'s `.sortedKeys` order: lexicographic by UTF-8 bytes (not `String`'s `<`).
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                let n = min(x.count, y.count)
                for k in 0..<n where x[k] != y[k] { return x[k] < y[k] }
                return x.count < y.count
            }
        }
    }
}
