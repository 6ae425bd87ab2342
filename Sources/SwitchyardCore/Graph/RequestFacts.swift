/// What a route decides on: the request's metadata, headers, body, requested model and gateway.
public struct RequestFacts: Sendable {
    /// `cf-aig-metadata`: a flat JSON object.
    public var metadata: [String: JSONValue]
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: JSONValue
    /// The model as requested (`dynamic/customer-support`).
    public var model: String
    public var gateway: String
    /// Estimated prompt tokens (for budget reservations); the server estimates from the body.
    public var estimatedInputTokens: Int
    /// Expected completion tokens: `max_tokens` when given, else a default.
    public var estimatedOutputTokens: Int

    public init(
        metadata: [String: JSONValue] = [:], headers: [String: String] = [:], body: JSONValue = .object([:]),
        model: String = "", gateway: String = "default", estimatedInputTokens: Int = 0, estimatedOutputTokens: Int = 0
    ) {
        self.metadata = metadata
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        self.body = body
        self.model = model
        self.gateway = gateway
        self.estimatedInputTokens = estimatedInputTokens
        self.estimatedOutputTokens = estimatedOutputTokens
    }

    /// Completion tokens assumed when a request names no limit.
    public static let defaultOutputTokens = 1024

    /// What a budget reserves for the answer: `max_completion_tokens`, else `max_tokens` (bounded
    /// to 10^7; anything else a number can say is clamped, never trapped on), else the default.
    public static func estimatedOutputTokens(maxCompletionTokens: JSONValue?, maxTokens: JSONValue?) -> Int {
        for value in [maxCompletionTokens, maxTokens] {
            if let n = value?.numberValue, n.isFinite { return Int(max(0, min(n.rounded(.up), 1e7))) }
        }
        return defaultOutputTokens
    }

    /// About four bytes of request body per prompt token.
    public static func estimatedInputTokens(bodyBytes: Int) -> Int { max(1, bodyBytes / 4) }

    /// `request.tokens`: a quarter of the UTF-8 bytes of the messages' text (string contents and
    /// text parts, `prompt` and `input` strings too) when the body was read for it, else a quarter
    /// of the body's bytes.
    public var requestTokens: Int {
        if let recordedRequestTokens { return recordedRequestTokens }
        var bytes = 0
        func add(_ v: JSONValue?) {
            switch v {
            case .string(let s)?: bytes += s.utf8.count
            case .array(let items)?: for item in items { add(item) }
            case .object(let o)?:
                if let text = o["text"] { add(text) }
                if let content = o["content"] { add(content) }
            default: break
            }
        }
        guard body["messages"] != nil || body["prompt"] != nil || body["input"] != nil else { return estimatedInputTokens }
        add(body["messages"])
        add(body["prompt"])
        add(body["input"])
        return bytes / 4
    }

    /// `request.tokens` as the request log recorded it (`RouteFacts`), for a replay whose body
    /// no longer holds the messages it was counted from.
    public var recordedRequestTokens: Int?

    /// Values of live limit state (`budget.<node>.used`), filled in by `RouteRun` just before a
    /// condition that reads them is evaluated.
    public var live: [ValuePath: Double] = [:]

    /// The value at `path`, or nil when any step is missing.
    public func resolve(_ path: ValuePath) -> JSONValue? {
        var current: JSONValue
        var segments = path.segments[...]
        switch path.root {
        case .model: current = .string(model)
        case .gateway: current = .string(gateway)
        case .request: return .number(Double(requestTokens))
        case .budget, .rate: return live[path].map { .number($0) }
        case .body: current = body
        case .metadata:
            guard case .key(let k)? = segments.first else { return .object(metadata) }
            guard let v = metadata[k] else { return nil }
            current = v
            segments = segments.dropFirst()
        case .headers:
            guard case .key(let k)? = segments.first else { return nil }
            guard let v = headers[k] else { return nil }
            current = .string(v)
            segments = segments.dropFirst()
        }
        for segment in segments {
            switch segment {
            case .key(let k):
                guard case .object(let o) = current, let next = o[k] else {
                    // `.length` written as a key on a non-object.
                    return nil
                }
                current = next
            case .index(let i):
                guard case .array(let a) = current else { return nil }
                let idx = i < 0 ? a.count + i : i
                guard idx >= 0, idx < a.count else { return nil }
                current = a[idx]
            case .length:
                switch current {
                case .array(let a): current = .number(Double(a.count))
                case .string(let s): current = .number(Double(s.count))
                case .object(let o):
                    if let v = o["length"] { current = v } else { current = .number(Double(o.count)) }
                default: return nil
                }
            }
        }
        return current
    }
}
