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

    init(_ secrets: some Sequence<String>) {
        self.secrets = Set(secrets.filter { $0.utf8.count >= Self.minimumLength }).sorted { $0.utf8.count > $1.utf8.count }
    }

    func adding(_ more: [String]) -> SecretRedactor {
        more.isEmpty ? self : SecretRedactor(secrets + more)
    }

    func redact(_ text: String) -> String {
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: Self.marker)
        }
        return out
    }

    func redact(_ buffer: ByteBuffer) -> ByteBuffer {
        let text = String(buffer: buffer)
        let redacted = redact(text)
        return redacted == text ? buffer : ByteBuffer(string: redacted)
    }

    /// The credentials a request carries: provider key headers, gateway token headers and
    /// key-like query parameters.
    static func requestSecrets(_ request: Request) -> [String] {
        var found: [String] = []
        for name in ["authorization", "cf-aig-authorization", "x-api-key", "x-goog-api-key", "api-key"] {
            guard let value = request.headers[HTTPField.Name(name)!] else { continue }
            found.append(value.trimmingCharacters(in: .whitespaces))
            if let bearer = ClientAuthentication.bearerValue(value) { found.append(bearer) }
        }
        let uri = request.uri.string
        if let q = uri.firstIndex(of: "?") {
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
    static let secretFields: Set<String> = ["api_key", "apikey", "api-key", "key", "token", "access_token", "secret", "password", "authorization"]

    /// String values of key-like fields (`api_key`, `token`, ...) anywhere in a JSON body: keys a
    /// request carried in its body rather than in a header.
    static func bodySecrets(_ body: ByteBuffer) -> [String] {
        guard body.readableBytes > 0, let json = try? JSONValue.parse(Data(body.readableBytesView)) else { return [] }
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
