import Hummingbird
import SwitchyardCore
import SwitchyardProviders

extension HTTPField.Name {
    static let cfAigAuthorization = Self("cf-aig-authorization")!
    static let cfAigEventID = Self("cf-aig-event-id")!
    static let cfAigRequestTimeout = Self("cf-aig-request-timeout")!
    static let cfAigMaxAttempts = Self("cf-aig-max-attempts")!
    static let cfAigRetryDelay = Self("cf-aig-retry-delay")!
    static let cfAigBackoff = Self("cf-aig-backoff")!
    static let cfAigByokAlias = Self("cf-aig-byok-alias")!
    static let cfAigLogID = Self("cf-aig-log-id")!
    static let cfAigStep = Self("cf-aig-step")!
    static let cfAigProvider = Self("cf-aig-provider")!
    static let cfAigModel = Self("cf-aig-model")!
    static let cfAigCacheStatus = Self("cf-aig-cache-status")!
    static let xAccelBuffering = Self("x-accel-buffering")!
    static let cfAigMetadata = Self("cf-aig-metadata")!
    static let xSwitchyardRoute = Self("x-switchyard-route")!
    static let xSwitchyardPath = Self("x-switchyard-path")!
}

/// The `cf-aig-*` request headers that steer one dispatch, validated (bad values are 400/2043).
/// Every number is parsed with its documented range (docs/security.md), so nothing computed from
/// a header can overflow; values are echoed in error messages only shortened.
struct RequestOptions: Sendable {
    var timeout: Duration?
    var retries = 0
    var backoff = Backoff(delay: 0, mode: .constant)
    var keyAlias = "default"

    /// `cf-aig-request-timeout`: 1 ms to 1 hour.
    static let timeoutRange = 1...3_600_000
    /// `cf-aig-byok-alias`: letters, digits, `-`, `_`, `.`, at most 64.
    static let maxAliasLength = 64

    init(headers: HTTPFields) throws(GatewayError) {
        if let text = headers[.cfAigRequestTimeout] {
            timeout = .milliseconds(try Self.integer(text, in: Self.timeoutRange, header: "cf-aig-request-timeout", unit: "milliseconds"))
        }
        if let text = headers[.cfAigMaxAttempts] {
            retries = try Self.integer(text, in: 1...5, header: "cf-aig-max-attempts", unit: "attempts") - 1
        }
        if let text = headers[.cfAigRetryDelay] {
            backoff.delay = Double(try Self.integer(text, in: 0...5000, header: "cf-aig-retry-delay", unit: "milliseconds")) / 1000
        }
        if let text = headers[.cfAigBackoff] {
            guard let mode = Backoff.Mode(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw .invalidRequest("cf-aig-backoff must be constant, linear or exponential, got '\(GatewayError.shown(text))'")
            }
            backoff.mode = mode
        }
        if let alias = headers[.cfAigByokAlias], !alias.isEmpty {
            guard alias.utf8.count <= Self.maxAliasLength, alias.utf8.allSatisfy(Self.isAliasByte) else {
                throw .invalidRequest("cf-aig-byok-alias must be at most \(Self.maxAliasLength) letters, digits, '-', '_' or '.', got '\(GatewayError.shown(alias))'")
            }
            keyAlias = alias
        }
    }

    /// A whole number within `range`; anything else (too long, signs, fractions, overflow) is 400.
    static func integer(_ text: String, in range: ClosedRange<Int>, header: String, unit: String) throws(GatewayError) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.utf8.count <= 18, let n = Int(trimmed), range.contains(n) else {
            throw .invalidRequest("\(header) must be a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound), got '\(GatewayError.shown(text))'")
        }
        return n
    }

    static func isAliasByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
    }
}

/// The gateway's own credentials: the tokens of every configured gateway and the admin token.
/// Built once (`GatewayState.credentials`), it is the one predicate that decides a credential
/// never leaves the gateway, whichever gateway and endpoint it was sent to and wherever it was
/// written (`Authorization`, a provider key header, a universal step's headers, `?key=`).
struct GatewayCredentials: Sendable {
    private let tokens: TokenSet

    init(gateways: some Sequence<GatewayConfiguration.Gateway>, adminToken: String?) {
        tokens = TokenSet(gateways.flatMap(\.tokens) + (adminToken.map { [$0] } ?? []))
    }

    /// Whether a credential header value is one of them: `Bearer <token>` or the bare token.
    func matches(_ value: String) -> Bool { Self.matches(value, in: tokens) }

    /// Whether a credential header value is `Bearer <t>` or a bare `<t>` with `t` in `tokens`.
    static func matches(_ value: String, in tokens: TokenSet) -> Bool {
        guard !tokens.isEmpty else { return false }
        let bare = value.trimmingCharacters(in: .whitespaces)
        guard !bare.isEmpty else { return false }
        if tokens.contains(bare) { return true }
        guard let bearer = ClientAuthentication.bearerValue(bare), bearer != bare else { return false }
        return tokens.contains(bearer)
    }

    /// A query (`?a=1&key=...`, or empty) without its key-like parameters (`key`, `api_key`, ...)
    /// whose value, percent-decoded or not, is one of them.
    func forwardable(query: String) -> String {
        guard query.count > 1, query.contains("="), !tokens.isEmpty else { return query }
        let pairs = query.dropFirst().split(separator: "&", omittingEmptySubsequences: false)
        let kept = pairs.filter { pair in
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, RequestRecord.secretParameters.contains(parts[0].lowercased()) else { return true }
            let raw = String(parts[1])
            return !matches(raw) && raw.removingPercentEncoding.map(matches) != true
        }
        guard kept.count < pairs.count else { return query }
        return kept.isEmpty ? "" : "?" + kept.joined(separator: "&")
    }
}

/// Gateway authentication and which key goes upstream (SPEC §4). A credential header holding any
/// gateway credential (`GatewayCredentials`: this gateway's token, another gateway's, the admin
/// token) is never forwarded and the stored key is used, as when no credential was sent; only
/// this gateway's own tokens authenticate it.
struct ClientAuthentication: Sendable {
    /// `Authorization` holds a gateway credential (never forwarded).
    let authorizationIsGatewayToken: Bool
    /// The bearer value of `Authorization`, when present and not a gateway credential: the client's provider key.
    let clientBearer: String?
    /// Provider key headers (`x-api-key`, `x-goog-api-key`, `api-key`) holding a gateway credential:
    /// a native SDK given a gateway token as its key. Never forwarded; the stored key is used.
    let gatewayTokenKeyHeaders: Set<String>
    /// Every gateway credential, for what a request carries outside its own headers (universal steps, `?key=`).
    let credentials: GatewayCredentials

    init(headers: HTTPFields, gateway: GatewayState.Gateway, credentials: GatewayCredentials) throws(GatewayError) {
        self.credentials = credentials
        var authenticated = false
        // Each field on its own: a token repeated in a second field of the same name is still withheld.
        func holdsGatewayCredential(_ name: HTTPField.Name) -> Bool {
            var found = false
            for value in headers[values: name] where credentials.matches(value) {
                found = true
                if GatewayCredentials.matches(value, in: gateway.tokens) { authenticated = true }
            }
            return found
        }
        authorizationIsGatewayToken = holdsGatewayCredential(.authorization)
        clientBearer = authorizationIsGatewayToken ? nil : headers[.authorization].flatMap(Self.bearerValue)
        var keyHeaders: Set<String> = []
        for name in Self.providerKeyHeaders where holdsGatewayCredential(name) {
            keyHeaders.insert(name.canonicalName)
        }
        gatewayTokenKeyHeaders = keyHeaders
        if gateway.settings.authentication {
            let cfToken = headers[values: .cfAigAuthorization].contains { GatewayCredentials.matches($0, in: gateway.tokens) }
            guard authenticated || cfToken else {
                throw .unauthorized(headers[.cfAigAuthorization] == nil
                    ? "Unauthorized: this gateway requires 'cf-aig-authorization: Bearer <token>'"
                    : "Unauthorized: the gateway token is not valid")
            }
        }
    }

    /// Whether the client header `lowercasedName` holds a gateway credential and so is not forwarded.
    func withholds(_ lowercasedName: String) -> Bool {
        (lowercasedName == "authorization" && authorizationIsGatewayToken) || gatewayTokenKeyHeaders.contains(lowercasedName)
    }

    /// Native SDKs' key headers, which may carry a gateway token instead of a provider key.
    static let providerKeyHeaders = ["x-api-key", "x-goog-api-key", "api-key"].map { HTTPField.Name($0)! }

    /// The token of `Bearer <token>` (or of a bare token); nil for other schemes (`Basic ...`).
    static func bearerValue(_ header: String) -> String? {
        // Bytes, not Foundation's `trimmingCharacters`: this runs twice for every request, and the
        // CharacterSet path was 2–3 % of the gateway's CPU per request in the profile.
        let trimmed = SecretRedactor.trimmingBlanks(header)
        let bytes = trimmed.utf8
        if bytes.count > 7, Self.startsWithBearer(bytes), bytes[bytes.index(bytes.startIndex, offsetBy: 6)] == UInt8(ascii: " ") {
            let token = SecretRedactor.trimmingBlanks(String(Substring(bytes.dropFirst(7))))
            return token.isEmpty ? nil : token
        }
        if bytes.isEmpty || bytes.contains(UInt8(ascii: " ")) || (bytes.count == 6 && Self.startsWithBearer(bytes)) { return nil }
        return trimmed
    }

    /// The first six bytes spell `bearer` in any case.
    private static func startsWithBearer(_ bytes: String.UTF8View) -> Bool {
        guard bytes.count >= 6 else { return false }
        return zip(bytes, "bearer".utf8).allSatisfy { ($0 | 0x20) == $1 }
    }
}

import Foundation

/// `HTTPField` without declaring swift-http-types as a direct dependency.
typealias HTTPField = HTTPFields.Element
