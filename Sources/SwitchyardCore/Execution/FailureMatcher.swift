/// What an upstream error answer says about its cause, beyond its status: read from the error body
/// (see `UpstreamErrorReason.classify`).
public enum UpstreamErrorReason: String, Sendable, Hashable, CaseIterable {
    /// The prompt (or prompt plus `max_tokens`) does not fit the model's context window.
    case contextLength = "context_length"
    /// The provider's content filter or safety policy refused the request.
    case contentFilter = "content_filter"
}

/// One way an attempt failed, as `retry_on` and `fallback_on` see it.
public struct UpstreamFailure: Sendable, Hashable {
    public var kind: RetryPolicy.Failure
    /// Only for error statuses whose body names a cause.
    public var reason: UpstreamErrorReason?

    public init(_ kind: RetryPolicy.Failure, reason: UpstreamErrorReason? = nil) {
        self.kind = kind
        self.reason = reason
    }
}

/// A set of failures, written as a list of items (`retry_on:` and `fallback_on:` of a model node):
/// exact statuses (`429`, `401`), status classes (`4xx`, `5xx`), `timeout` (no first byte in
/// time), `connect` (refused, reset, or a malformed answer), `content_filter`, `context_length`
/// (classified from the provider's error body), or `any` (every upstream failure).
public struct FailureMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum Item: Sendable, Hashable, CustomStringConvertible {
        case status(Int)
        /// 4 for `4xx`, 5 for `5xx`.
        case statusClass(Int)
        case timeout
        case connect
        case reason(UpstreamErrorReason)
        case any

        public var description: String {
            switch self {
            case .status(let s): "\(s)"
            case .statusClass(let c): "\(c)xx"
            case .timeout: "timeout"
            case .connect: "connect"
            case .reason(let r): r.rawValue
            case .any: "any"
            }
        }

        /// Parses one written item; nil when it is none of the forms.
        public init?(_ text: String) {
            switch text {
            case "4xx": self = .statusClass(4)
            case "5xx": self = .statusClass(5)
            case "timeout": self = .timeout
            case "connect": self = .connect
            case "any": self = .any
            default:
                if let r = UpstreamErrorReason(rawValue: text) {
                    self = .reason(r)
                } else if let n = Int(text), text.count == 3, (400...599).contains(n) {
                    self = .status(n)
                } else {
                    return nil
                }
            }
        }

        /// The written forms, for suggestions.
        public static let names = ["4xx", "5xx", "timeout", "connect", "content_filter", "context_length", "any"]

        func matches(_ f: UpstreamFailure) -> Bool {
            switch (self, f.kind) {
            case (.any, _): true
            case (.timeout, .timeout): true
            case (.connect, .connection): true
            case (.status(let s), .status(let actual)): s == actual
            case (.statusClass(let c), .status(let actual)): actual / 100 == c
            case (.reason(let r), .status): f.reason == r
            default: false
            }
        }
    }

    public let items: [Item]

    public init(_ items: [Item]) { self.items = items }

    public func matches(_ failure: UpstreamFailure) -> Bool {
        items.contains { $0.matches(failure) }
    }

    /// `[timeout, connect, 408, 429, 5xx]`: what was retried before `retry_on` existed.
    public static let defaultRetry = FailureMatcher([.timeout, .connect, .status(408), .status(429), .statusClass(5)])
    /// The same set: a failure that would be retried moves on to the fallback once retries are
    /// spent; any other 4xx goes back to the client at once, as before `fallback_on` existed.
    public static let defaultFallback = defaultRetry
    /// The empty list: never.
    public static let never = FailureMatcher([])

    public var description: String { items.isEmpty ? "never" : items.map(\.description).joined(separator: ", ") }
}

extension UpstreamErrorReason {
    /// Reads the cause of an error answer from its body, in any of the shapes the providers send or
    /// the gateway normalizes them to (`{"error":{"message","type","code"}}`, Anthropic's
    /// `{"type":"error","error":{"type","message"}}`, Gemini's `{"error":{"code","message","status"}}`,
    /// the top-level `{"object":"error","message","code"}` of vLLM and Mistral, Workers AI's `errors[]`):
    /// - context length: OpenAI-style `code` `context_length_exceeded` (OpenAI, Groq, Azure, vLLM),
    ///   Anthropic's "prompt is too long", Gemini's "exceeds the maximum number of tokens", and
    ///   the "maximum context length" wording of OpenAI-compatible servers;
    /// - content filter: `code` `content_filter` / `content_policy_violation`, Azure's
    ///   `innererror.code` `ResponsibleAIPolicyViolation`, Anthropic's "blocked by content filtering policy".
    /// Only 4xx statuses are classified; nil when nothing says either.
    public static func classify(status: Int, body: JSONValue?) -> UpstreamErrorReason? {
        guard (400..<500).contains(status), let body else { return nil }
        let error: JSONValue
        if let e = body["error"], e.objectValue != nil {
            error = e
        } else if let first = body["errors"]?.arrayValue?.first {
            error = first  // Workers AI: {"success":false,"errors":[{"code","message"}]}
        } else {
            error = body
        }
        let code = (error["code"]?.stringValue ?? "").lowercased()
        let type = (error["type"]?.stringValue ?? "").lowercased()
        let inner = (error["innererror"]?["code"]?.stringValue ?? "").lowercased()
        let message = (error["message"]?.stringValue ?? "").lowercased().prefix(2000)

        if code == "context_length_exceeded" || code == "model_context_window_exceeded" || type == "context_length_exceeded" { return .contextLength }
        if code == "content_filter" || code == "content_policy_violation" || inner == "responsibleaipolicyviolation" || type == "content_filter" { return .contentFilter }
        let contextPhrases = ["maximum context length", "context length exceeded", "context_length_exceeded", "context window", "prompt is too long",
                              "exceeds the maximum number of tokens", "input is too long", "too many input tokens"]
        if contextPhrases.contains(where: { message.contains($0) }) { return .contextLength }
        let filterPhrases = ["content filtering policy", "content management policy", "content_filter", "content filter", "safety system", "blocked by safety"]
        if filterPhrases.contains(where: { message.contains($0) }) { return .contentFilter }
        return nil
    }
}
