/// An error raised by the gateway itself (not passed through from a provider). The server renders
/// it in Cloudflare's envelope with `status`; codes are listed in docs/errors.md.
public struct GatewayError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: Int
    public let status: Int
    public let message: String
    /// Seconds, for `Retry-After`.
    public var retryAfter: Int?

    public init(code: Int, status: Int, message: String, retryAfter: Int? = nil) {
        self.code = code
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
        .init(code: 2001, status: 400, message: "unknown gateway '\(shown(gateway))': configure it under 'gateways' in switchyard.yaml (only 'default' always exists)")
    }
    public static func gatewayRateLimited(_ gateway: String, limit: Int, window: String, retryAfter: Int) -> Self {
        .init(code: 2003, status: 429, message: "gateway '\(gateway)' rate limit of \(limit) requests per \(window) exceeded", retryAfter: retryAfter)
    }
    public static func invalidProvider(_ message: String) -> Self { .init(code: 2008, status: 400, message: message) }
    public static func unauthorized(_ message: String = "Unauthorized") -> Self { .init(code: 2009, status: 401, message: message) }
    public static func unknownKeyAlias(_ alias: String, provider: String, known: [String]) -> Self {
        let list = known.isEmpty ? "none are configured" : "configured aliases: " + known.sorted().joined(separator: ", ")
        return .init(code: 2040, status: 400, message: "unknown key alias '\(alias)' for provider '\(provider)' (\(list))")
    }
    public static func unknownRoute(_ name: String, known: [String]) -> Self {
        let list = known.isEmpty ? "no routes are loaded" : "known routes: " + known.sorted().joined(separator: ", ")
        return .init(code: 2042, status: 404, message: "unknown route 'dynamic/\(shown(name))' (\(list))")
    }
    public static func invalidRequest(_ message: String) -> Self { .init(code: 2043, status: 400, message: message) }
    public static func unreachable(provider: String, reason: String) -> Self {
        .init(code: 2005, status: 502, message: "no response from provider '\(provider)': \(reason)")
    }
    public static func timeout(provider: String, milliseconds: Int) -> Self {
        .init(code: 2044, status: 504, message: "provider '\(provider)' sent no first byte within \(milliseconds) ms")
    }
    public static func bodyTooLarge(limit: Int) -> Self {
        .init(code: 2045, status: 413, message: "request body larger than the limit of \(limit) bytes (limits.max_body_bytes)")
    }
    public static func methodNotAllowed(_ method: String, path: String, allowed: [String]) -> Self {
        .init(code: 2046, status: 405, message: "method \(shown(method, limit: 32)) not allowed on \(shown(path, limit: 200)); use \(allowed.joined(separator: " or "))")
    }
    public static func missingKey(provider: String, variables: [String]) -> Self {
        let hint = variables.isEmpty
            ? "configure providers.\(provider).keys in switchyard.yaml"
            : "set \(variables.joined(separator: " or ")) or providers.\(provider).keys in switchyard.yaml"
        return .init(code: 2047, status: 401, message: "no API key for provider '\(provider)': send one in the Authorization header, or \(hint)")
    }
    public static func notFound(_ path: String) -> Self { .init(code: 2048, status: 404, message: "no such endpoint: \(shown(path, limit: 200))") }
    public static func `internal`(_ logID: String) -> Self {
        .init(code: 2049, status: 500, message: "internal gateway error (log id \(logID))")
    }
}
