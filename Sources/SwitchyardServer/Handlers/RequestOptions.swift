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
struct RequestOptions: Sendable {
    var timeout: Duration?
    var retries = 0
    var backoff = Backoff(delay: 0, mode: .constant)
    var keyAlias = "default"

    init(headers: HTTPFields) throws(GatewayError) {
        if let text = headers[.cfAigRequestTimeout] {
            guard let ms = Int(text.trimmingCharacters(in: .whitespaces)), ms > 0 else {
                throw .invalidRequest("cf-aig-request-timeout must be a positive number of milliseconds, got '\(text)'")
            }
            timeout = .milliseconds(ms)
        }
        if let text = headers[.cfAigMaxAttempts] {
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), (1...5).contains(n) else {
                throw .invalidRequest("cf-aig-max-attempts must be a number from 1 to 5, got '\(text)'")
            }
            retries = n - 1
        }
        if let text = headers[.cfAigRetryDelay] {
            guard let ms = Int(text.trimmingCharacters(in: .whitespaces)), (0...5000).contains(ms) else {
                throw .invalidRequest("cf-aig-retry-delay must be a number of milliseconds from 0 to 5000, got '\(text)'")
            }
            backoff.delay = Double(ms) / 1000
        }
        if let text = headers[.cfAigBackoff] {
            guard let mode = Backoff.Mode(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
                throw .invalidRequest("cf-aig-backoff must be constant, linear or exponential, got '\(text)'")
            }
            backoff.mode = mode
        }
        if let alias = headers[.cfAigByokAlias], !alias.isEmpty { keyAlias = alias }
    }
}

/// Gateway authentication and which key goes upstream (SPEC §4).
struct ClientAuthentication: Sendable {
    /// The `Authorization: Bearer` value when it is a gateway token (never forwarded).
    let authorizationIsGatewayToken: Bool
    /// The bearer value of `Authorization`, when present and not a gateway token.
    let clientBearer: String?
    /// Provider key headers (`x-api-key`, `x-goog-api-key`, `api-key`) whose value is a gateway token:
    /// a native SDK given the gateway token as its key. Never forwarded; the stored key is used.
    let gatewayTokenKeyHeaders: Set<String>

    init(headers: HTTPFields, gateway: GatewayState.Gateway) throws(GatewayError) {
        let bearer = headers[.authorization].flatMap(Self.bearerValue)
        let isToken = bearer.map { gateway.tokens.contains($0) } ?? false
        authorizationIsGatewayToken = isToken
        clientBearer = isToken ? nil : bearer
        var keyHeaders: Set<String> = []
        for name in Self.providerKeyHeaders {
            if let value = headers[name], gateway.tokens.contains(value.trimmingCharacters(in: .whitespaces)) {
                keyHeaders.insert(name.canonicalName)
            }
        }
        gatewayTokenKeyHeaders = keyHeaders
        if gateway.settings.authentication {
            let cfToken = headers[.cfAigAuthorization].flatMap(Self.bearerValue)
            guard isToken || !keyHeaders.isEmpty || cfToken.map({ gateway.tokens.contains($0) }) == true else {
                throw .unauthorized(headers[.cfAigAuthorization] == nil
                    ? "Unauthorized: this gateway requires 'cf-aig-authorization: Bearer <token>'"
                    : "Unauthorized: the gateway token is not valid")
            }
        }
    }

    /// Native SDKs' key headers, which may carry a gateway token instead of a provider key.
    static let providerKeyHeaders = ["x-api-key", "x-goog-api-key", "api-key"].map { HTTPField.Name($0)! }

    /// The token of `Bearer <token>` (or of a bare token); nil for other schemes (`Basic ...`).
    static func bearerValue(_ header: String) -> String? {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        if trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " {
            let token = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
            return token.isEmpty ? nil : token
        }
        return trimmed.isEmpty || trimmed.contains(" ") || trimmed.lowercased() == "bearer" ? nil : trimmed
    }
}

import Foundation

/// `HTTPField` without declaring swift-http-types as a direct dependency.
typealias HTTPField = HTTPFields.Element
