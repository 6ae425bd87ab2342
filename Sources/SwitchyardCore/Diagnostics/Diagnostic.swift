/// A compiler message with its place in the source, printed as
/// `path:line:column: error: message` (and an indented `note:` with the suggestion).
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error
        case warning
    }

    public var severity: Severity
    public var location: SourceLocation
    public var message: String
    /// The likely fix (`did you mean 'claude'?`), printed after the message.
    public var suggestion: String?

    public init(_ severity: Severity, at location: SourceLocation, _ message: String, suggestion: String? = nil) {
        self.severity = severity
        self.location = location
        self.message = message
        self.suggestion = suggestion
    }

    public var description: String {
        var s = "\(location): \(severity.rawValue): \(message)"
        if let suggestion { s += "; \(suggestion)" }
        return s
    }
}
