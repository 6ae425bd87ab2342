import SwitchyardCore

/// An error raised by the gateway itself (not passed through from a provider). The server renders
/// it in Cloudflare's envelope with `status`; codes are listed in docs/errors.md.
public struct GatewayError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Cloudflare AI Gateway's error codes (its numbers as raw values), and Switchyard's own from 2042.
    public enum Code: Int, Sendable, Hashable, CaseIterable {
        case unknownGateway = 2001
        case gatewayRateLimited = 2003
        case noResponse = 2005
        case invalidProvider = 2008
        case unauthorized = 2009
        case unknownKeyAlias = 2040
        case routeLimited = 2041
        case unknownRoute = 2042
        case invalidRequest = 2043
        case timeout = 2044
        case bodyTooLarge = 2045
        case methodNotAllowed = 2046
        case missingKey = 2047
        case notFound = 2048
        case `internal` = 2049
        case unavailable = 2050
    }

    public let kind: Code
    /// `kind`'s number, as the envelope writes it.
    public var code: Int { kind.rawValue }
    public let status: Int
    public let message: String
    /// Seconds, for `Retry-After`.
    public var retryAfter: Int?

    public init(_ kind: Code, status: Int, message: String, retryAfter: Int? = nil) {
        self.kind = kind
        self.status = status
        self.message = Self.shown(message, limit: Self.maxMessageCharacters)
        self.retryAfter = retryAfter
    }

    /// The longest message an error carries: a message built from a client's value (a path, a
    /// model, a header) never sends it back whole, however long it was.
    public static let maxMessageCharacters = 1024

    /// A client-chosen value as an error message shows it: at most `limit` characters.
    public static func shown(_ text: some StringProtocol, limit: Int = 64) -> String {
        if text.utf8.count <= limit || text.count <= limit { return String(text) }
        return String(text.prefix(max(0, limit - 3))) + "..."
    }

    public var description: String { "\(code) \(message)" }

    public static func unknownGateway(_ gateway: String) -> Self {
        .init(.unknownGateway, status: 400, message: "unknown gateway '\(shown(gateway))': configure it under 'gateways' in switchyard.yaml (only 'default' always exists)")
    }
    public static func gatewayRateLimited(_ gateway: String, limit: Int, window: String, retryAfter: Int) -> Self {
        .init(.gatewayRateLimited, status: 429, message: "gateway '\(gateway)' rate limit of \(limit) requests per \(window) exceeded", retryAfter: retryAfter)
    }
    /// A route that ended the request itself: its limits and budgets answer 429 with `Retry-After`,
    /// a `reject` node the status it names; all with 2041.
    public init(_ rejection: RouteRejection) {
        if rejection.kind == .unavailable {
            // A skipped target (breaker open, max_concurrency): the route has no model to try now.
            self.init(.unavailable, status: 503, message: rejection.message, retryAfter: rejection.retryAfter.map { max(1, Int($0.rounded(.up))) })
            return
        }
        self.init(.routeLimited, status: rejection.chosenStatus ?? 429, message: rejection.message, retryAfter: rejection.retryAfter.map { max(1, Int($0.rounded(.up))) })
    }
    public static func invalidProvider(_ message: String) -> Self { .init(.invalidProvider, status: 400, message: message) }
    public static func unauthorized(_ message: String = "Unauthorized") -> Self { .init(.unauthorized, status: 401, message: message) }
    public static func unknownKeyAlias(_ alias: String, provider: String, known: [String]) -> Self {
        let list = known.isEmpty ? "none are configured" : "configured aliases: " + known.sorted().joined(separator: ", ")
        return .init(.unknownKeyAlias, status: 400, message: "unknown key alias '\(alias)' for provider '\(provider)' (\(list))")
    }
    public static func unknownRoute(_ name: String, known: [String]) -> Self {
        let list = known.isEmpty ? "no routes are loaded" : "known routes: " + known.sorted().joined(separator: ", ")
        return .init(.unknownRoute, status: 404, message: "unknown route 'dynamic/\(shown(name))' (\(list))")
    }
    public static func invalidRequest(_ message: String) -> Self { .init(.invalidRequest, status: 400, message: message) }
    public static func unreachable(provider: String, reason: String) -> Self {
        .init(.noResponse, status: 502, message: "no response from provider '\(provider)': \(reason)")
    }
    public static func timeout(provider: String, milliseconds: Int) -> Self {
        .init(.timeout, status: 504, message: "provider '\(provider)' sent no first byte within \(milliseconds) ms")
    }
    public static func bodyTooLarge(limit: Int) -> Self {
        .init(.bodyTooLarge, status: 413, message: "request body larger than the limit of \(limit) bytes (limits.max_body_bytes)")
    }
    public static func methodNotAllowed(_ method: String, path: String, allowed: [String]) -> Self {
        .init(.methodNotAllowed, status: 405, message: "method \(shown(method, limit: 32)) not allowed on \(shown(path, limit: 200)); use \(allowed.joined(separator: " or "))")
    }
    public static func missingKey(provider: String, variables: [String]) -> Self {
        let hint = variables.isEmpty
            ? "configure providers.\(provider).keys in switchyard.yaml"
            : "set \(variables.joined(separator: " or ")) or providers.\(provider).keys in switchyard.yaml"
        return .init(.missingKey, status: 401, message: "no API key for provider '\(provider)': send one in the Authorization header, or \(hint)")
    }
    public static func notFound(_ path: String) -> Self { .init(.notFound, status: 404, message: "no such endpoint: \(shown(path, limit: 200))") }
    public static func `internal`(_ logID: String) -> Self {
        .init(.internal, status: 500, message: "internal gateway error (log id \(logID))")
    }
}
