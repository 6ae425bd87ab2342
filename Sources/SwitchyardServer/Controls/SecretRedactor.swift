import Crypto
import Foundation
import Hummingbird
import NIOCore
import SwitchyardCore

/// Replaces known secrets (stored provider keys, gateway and admin tokens, and the keys a request
/// carried) with `[REDACTED]` in text that leaves the gateway: log records, log lines, and
/// upstream error bodies that echo a key.
struct SecretRedactor: Sendable {
    static let marker = "[REDACTED]"
    /// Shorter strings are too likely to be ordinary words to replace.
    static let minimumLength = 8

    /// Longest first, so that a key containing another is replaced whole.
    let secrets: [String]
    private let known: Set<String>
    /// The same, as bytes: searched with `memchr`/`memcmp`, not through Foundation's string search.
    private let needles: [[UInt8]]

    init(_ secrets: some Sequence<String>) {
        known = Set(secrets.filter { $0.utf8.count >= Self.minimumLength })
        self.secrets = known.sorted { $0.utf8.count > $1.utf8.count }
        needles = self.secrets.map { Array($0.utf8) }
    }

    /// This redactor plus a request's own secrets. Called on most requests, so the configured
    /// secrets are not sorted again: without a new secret (the request's key is usually a
    /// configured one) it is this redactor itself.
    func adding(_ more: [String]) -> SecretRedactor {
        let new = more.filter { $0.utf8.count >= Self.minimumLength && !known.contains($0) }
        return new.isEmpty ? self : SecretRedactor(secrets + new)
    }

    func redact(_ text: String) -> String {
        guard !needles.isEmpty else { return text }
        var text = text
        return text.withUTF8 { bytes in
            guard let redacted = redact(bytes) else { return nil }
            return String(decoding: redacted, as: UTF8.self)
        } ?? text
    }

    func redact(_ buffer: ByteBuffer) -> ByteBuffer {
        guard !needles.isEmpty else { return buffer }
        return buffer.withUnsafeReadableBytes { raw in
            redact(UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count))
        }.map { ByteBuffer(bytes: $0) } ?? buffer
    }

    /// The bytes with every secret replaced, or nil when none occurs (the common case: no copy).
    private func redact(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard needles.contains(where: { Self.find($0, in: bytes, from: 0) != nil }) else { return nil }
        var current = Array(bytes)
        let marker = Array(Self.marker.utf8)
        for needle in needles {
            current = current.withUnsafeBufferPointer { text in
                var out: [UInt8] = []
                var from = 0
                while let at = Self.find(needle, in: text, from: from) {
                    if out.isEmpty { out.reserveCapacity(text.count) }
                    out.append(contentsOf: text[from..<at])
                    out.append(contentsOf: marker)
                    from = at + needle.count
                }
                if from == 0 { return Array(text) }
                out.append(contentsOf: text[from...])
                return out
            }
        }
        return current
    }

    /// `memmem`, which Glibc's module map does not export: `memchr` to each candidate first byte, then `memcmp`.
    private static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let base = haystack.baseAddress, let first = needle.first else { return nil }
        let last = haystack.count - needle.count
        var at = from
        return needle.withUnsafeBytes { n -> Int? in
            while at <= last {
                guard let hit = memchr(base + at, Int32(first), last - at + 1) else { return nil }
                let index = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
                if memcmp(base + index, n.baseAddress!, n.count) == 0 { return index }
                at = index + 1
            }
            return nil
        }
    }

    /// `s` without leading and trailing spaces and tabs.
    static func trimmingBlanks(_ s: String) -> String {
        let u = s.utf8
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let first = u.firstIndex(where: { !blank($0) }), let last = u.lastIndex(where: { !blank($0) }) else { return "" }
        return first == u.startIndex && last == u.index(before: u.endIndex) ? s : String(Substring(u[first...last]))
    }

    private static let credentialHeaderNames = ["authorization", "cf-aig-authorization", "x-api-key", "x-goog-api-key", "api-key"].map { HTTPField.Name($0)! }

    /// The credentials a request carries: provider key headers, gateway token headers and
    /// key-like query parameters.
    static func requestSecrets(_ request: Request) -> [String] {
        var found: [String] = []
        for name in credentialHeaderNames {
            guard let value = request.headers[name] else { continue }
            found.append(Self.trimmingBlanks(value))
            if let bearer = ClientAuthentication.bearerValue(value) { found.append(bearer) }
        }
        let uri = request.uri.string
        if uri.utf8.contains(UInt8(ascii: "?")), let q = uri.firstIndex(of: "?") {
            for pair in uri[uri.index(after: q)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, RequestRecord.secretParameters.contains(parts[0].lowercased()) else { continue }
                let raw = String(parts[1])
                found.append(raw)
                if let decoded = raw.removingPercentEncoding { found.append(decoded) }
            }
        }
        return found
    }
}

extension SecretRedactor {
    /// What every name in `secretFields` contains (lowercased): a body without any of these
    /// words, and without a `\u` escape that could spell one, has no secret field to parse for.
    private static let secretFieldStems: [[UInt8]] = ["key", "token", "secret", "password", "authorization"].map { Array($0.utf8) }

    static func mayNameSecretField(_ body: ByteBuffer) -> Bool {
        body.withUnsafeReadableBytes { raw in
            let count = raw.count
            guard count > 0 else { return false }
            var i = 0
            while i < count {
                let b = raw[i] | 0x20  // lowercases A-Z and maps no other byte onto a-z
                if raw[i] == UInt8(ascii: "\\"), i + 1 < count, raw[i + 1] == UInt8(ascii: "u") { return true }
                for stem in secretFieldStems where stem[0] == b && i + stem.count <= count {
                    var j = 1
                    while j < stem.count, raw[i + j] | 0x20 == stem[j] { j += 1 }
                    if j == stem.count { return true }
                }
                i += 1
            }
            return false
        }
    }

    static let secretFields: Set<String> = ["api_key", "apikey", "api-key", "key", "token", "access_token", "secret", "password", "authorization"]

    /// String values of key-like fields (`api_key`, `token`, ...) anywhere in a JSON body: keys a
    /// request carried in its body rather than in a header.
    static func bodySecrets(_ body: ByteBuffer) -> [String] {
        guard body.readableBytes > 0, mayNameSecretField(body), let json = try? JSONValue.parse(bytes: body.readableBytesView) else { return [] }
        var found: [String] = []
        func walk(_ v: JSONValue, depth: Int) {
            guard depth < 32 else { return }
            if let object = v.objectValue {
                for (k, child) in object {
                    if secretFields.contains(k.lowercased()), let s = child.stringValue { found.append(s) } else { walk(child, depth: depth + 1) }
                }
            } else if let array = v.arrayValue {
                for child in array { walk(child, depth: depth + 1) }
            }
        }
        walk(json, depth: 0)
        return found
    }
}

/// Constant-time token comparison: every configured token is compared in full, over SHA-256
/// digests of equal length, so timing reveals neither which token matched nor a common prefix.
struct TokenSet: Sendable {
    private let digests: [[UInt8]]

    init(_ tokens: some Sequence<String>) {
        digests = tokens.map { Array(SHA256.hash(data: Data($0.utf8))) }
    }

    var isEmpty: Bool { digests.isEmpty }

    func contains(_ candidate: String) -> Bool {
        let d = SHA256.hash(data: Data(candidate.utf8))
        var matched = false
        for token in digests {
            var diff: UInt8 = 0
            for (a, b) in zip(token, d) { diff |= a ^ b }
            matched = matched || diff == 0
        }
        return matched
    }
}
