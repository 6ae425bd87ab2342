import Foundation

/// The fault knobs of one answer. Resolution: request headers (`x-fake-*`) > the per-model rule > server defaults.
public struct FakeBehavior: Sendable, Equatable {
    public enum Reset: String, Sendable, Equatable, CaseIterable {
        /// Close the connection with SO_LINGER 0 (an RST) before any response byte.
        case beforeFirstByte = "before-first-byte"
        /// Send the response head and `resetAfterChunks` stream events, then RST the connection.
        case midStream = "mid-stream"
    }

    /// Error answers whose body names a cause, each in the provider's own words (`x-fake-error`).
    public enum ErrorCause: String, Sendable, Equatable, CaseIterable {
        /// A 400 saying the prompt exceeds the model's context window.
        case contextLength = "context-length"
        /// A 400 saying the provider's content filter refused the prompt.
        case contentFilter = "content-filter"
    }

    /// Delay before the first response byte.
    public var latencyMs: Int
    /// Delay between two stream events.
    public var chunkIntervalMs: Int
    /// Number of content pieces the reply text is split into when streaming.
    public var chunks: Int
    /// When set, every request answers with this status and the provider's error body.
    public var status: Int?
    /// `Retry-After` value sent with error statuses.
    public var retryAfter: String?
    /// Non-stream: a truncated JSON body. Stream: the first content event carries broken JSON.
    public var malformed: Bool
    public var reset: Reset?
    /// Stream events (of any kind, `[DONE]` excluded) written before a mid-stream reset.
    public var resetAfterChunks: Int
    /// When false, responses carry no usage (OpenAI stream: no usage chunk even when asked).
    public var usage: Bool
    /// Answer with a call of the first tool whenever the request offers tools and allows calls.
    public var toolCall: Bool
    /// The first `failFirst` requests for a model answer `failStatus`; later ones succeed. The counter belongs to
    /// the model and counts every request for it since start, so the rule suits per-model configuration best.
    public var failFirst: Int
    public var failStatus: Int
    /// Streams only: after this many events, send the provider's in-stream error event and end the stream
    /// (HTTP status stays 200, as when a provider fails mid-answer).
    public var streamErrorAfterChunks: Int?
    /// When set (and `status` is not), every request answers 400 with this cause in the error body.
    public var error: ErrorCause?

    public init(
        latencyMs: Int = 0,
        chunkIntervalMs: Int = 0,
        chunks: Int = 3,
        status: Int? = nil,
        retryAfter: String? = nil,
        malformed: Bool = false,
        reset: Reset? = nil,
        resetAfterChunks: Int = 1,
        usage: Bool = true,
        toolCall: Bool = false,
        failFirst: Int = 0,
        failStatus: Int = 503,
        streamErrorAfterChunks: Int? = nil,
        error: ErrorCause? = nil
    ) {
        self.latencyMs = latencyMs
        self.chunkIntervalMs = chunkIntervalMs
        self.chunks = chunks
        self.status = status
        self.retryAfter = retryAfter
        self.malformed = malformed
        self.reset = reset
        self.resetAfterChunks = resetAfterChunks
        self.usage = usage
        self.toolCall = toolCall
        self.failFirst = failFirst
        self.failStatus = failStatus
        self.streamErrorAfterChunks = streamErrorAfterChunks
        self.error = error
    }

    /// Applies `x-fake-*` request headers on top of `self`. Unparsable values are ignored.
    func overridden(by header: (String) -> String?) -> FakeBehavior {
        var result = self
        if let value = header("x-fake-latency-ms").flatMap(Int.init), value >= 0 { result.latencyMs = value }
        if let value = header("x-fake-chunk-interval-ms").flatMap(Int.init), value >= 0 { result.chunkIntervalMs = value }
        if let value = header("x-fake-chunks").flatMap(Int.init), value >= 1 { result.chunks = value }
        if let value = header("x-fake-status").flatMap(Int.init), (100...599).contains(value) { result.status = value }
        if let value = header("x-fake-retry-after") { result.retryAfter = value }
        if let value = header("x-fake-malformed") { result.malformed = Self.flag(value) }
        if let value = header("x-fake-reset") {
            result.reset = Reset(rawValue: value.lowercased())
        }
        if let value = header("x-fake-reset-after-chunks").flatMap(Int.init), value >= 0 { result.resetAfterChunks = value }
        if let value = header("x-fake-usage") { result.usage = Self.flag(value) }
        if let value = header("x-fake-tool-call") { result.toolCall = Self.flag(value) }
        if let value = header("x-fake-fail-first").flatMap(Int.init), value >= 0 { result.failFirst = value }
        if let value = header("x-fake-stream-error-after-chunks").flatMap(Int.init), value >= 0 {
            result.streamErrorAfterChunks = value
        }
        if let value = header("x-fake-error") { result.error = ErrorCause(rawValue: value.lowercased()) }
        if let value = header("x-fake-fail-status").flatMap(Int.init), (100...599).contains(value) { result.failStatus = value }
        return result
    }

    public struct RuleError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses `"MODEL knob=value,knob=value"`, knobs named like the `x-fake-*` headers without the prefix
    /// (`latency-ms`, `chunk-interval-ms`, `chunks`, `status`, `retry-after`, `malformed`, `reset`,
    /// `reset-after-chunks`, `usage`, `tool-call`, `fail-first`, `fail-status`, `stream-error-after-chunks`, `error`), applied on top of `base`.
    public static func rule(_ text: String, base: FakeBehavior = FakeBehavior()) throws -> (model: String, behavior: FakeBehavior) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else {
            throw RuleError(description: "rule '\(text)' must read 'MODEL knob=value,...'")
        }
        let model = String(trimmed[..<space])
        var knobs: [String: String] = [:]
        for item in trimmed[space...].split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, Self.knobNames.contains(pair[0]) else {
                throw RuleError(description: "rule '\(text)': '\(item)' is not knob=value with a knob among \(Self.knobNames.joined(separator: ", "))")
            }
            let valid = switch pair[0] {
            case "retry-after", "malformed", "usage", "tool-call": true
            case "reset": Reset(rawValue: pair[1]) != nil
            case "error": ErrorCause(rawValue: pair[1]) != nil
            default: Int(pair[1]).map { $0 >= 0 } ?? false
            }
            guard valid else { throw RuleError(description: "rule '\(text)': bad value for \(pair[0])") }
            knobs["x-fake-" + pair[0]] = pair[1]
        }
        return (model, base.overridden { knobs[$0] })
    }

    static let knobNames = [
        "latency-ms", "chunk-interval-ms", "chunks", "status", "retry-after", "malformed", "reset",
        "reset-after-chunks", "usage", "tool-call", "fail-first", "fail-status", "stream-error-after-chunks", "error",
    ]

    private static func flag(_ value: String) -> Bool {
        ["1", "true", "yes", "on"].contains(value.lowercased())
    }
}
