/// What of a request a route reads: header names, top-level body members (or the whole body) and
/// `request.tokens`. Metadata, `model` and `gateway` are not listed: the request log keeps them anyway.
public struct RouteReads: Sendable, Hashable {
    /// Lowercased header names.
    public var headers: Set<String> = []
    /// Top-level members of the body (`body.messages[0].role` reads `messages`).
    public var bodyMembers: Set<String> = []
    /// A path that is `body` itself, `body.length` or `body[i]`.
    public var wholeBody = false
    public var requestTokens = false

    public init(headers: Set<String> = [], bodyMembers: Set<String> = [], wholeBody: Bool = false, requestTokens: Bool = false) {
        self.headers = headers
        self.bodyMembers = bodyMembers
        self.wholeBody = wholeBody
        self.requestTokens = requestTokens
    }

    init(_ nodes: [RouteNode]) {
        var paths: [ValuePath] = []
        for node in nodes {
            switch node.kind {
            case .conditional(let c): paths += c.condition.paths
            case .split(let s): if let p = s.sticky { paths.append(p) }
            case .rateLimit(let r): if let p = r.key { paths.append(p) }
            case .budget(let b): if let p = b.key { paths.append(p) }
            case .pick, .model, .reject: break
            }
        }
        for path in paths { add(path) }
    }

    mutating func add(_ path: ValuePath) {
        switch path.root {
        case .headers:
            if case .key(let k)? = path.segments.first { headers.insert(k) }
        case .body:
            if case .key(let k)? = path.segments.first { bodyMembers.insert(k) } else { wholeBody = true }
        case .request:
            requestTokens = true
        case .metadata, .model, .gateway, .budget, .rate:
            break
        }
    }

    public var isEmpty: Bool { headers.isEmpty && bodyMembers.isEmpty && !wholeBody && !requestTokens }

    /// The facts as named in `RouteFacts.read`: `headers.x-tier`, `body.temperature`, `body`, `request.tokens`; sorted.
    public var names: [String] {
        var out = headers.sorted().map { "headers.\($0)" }
        out += bodyMembers.sorted().map { "body.\($0)" }
        if wholeBody { out.append("body") }
        if requestTokens { out.append("request.tokens") }
        return out
    }
}

/// The facts a dynamic route decided on, as the request log keeps them (`route_facts`): the headers
/// and body members the route that served the request reads, the token estimates budgets reserve
/// with, and `request.tokens`. Metadata is logged on its own. Bounded: each header value to
/// `maxHeaderBytes`, each body member to `maxMemberBytes` of JSON, the whole object to `maxBytes`;
/// a fact over its bound is named in `dropped` instead. Credential headers and key-like body
/// members are never kept (`neverKept`).
public struct RouteFacts: Sendable, Hashable, Codable {
    public static let maxHeaderBytes = 256
    public static let maxMemberBytes = 1024
    /// Of the JSON text as stored.
    public static let maxBytes = 4096
    /// Headers never kept, whatever a route reads.
    public static let neverKeptHeaders: Set<String> = [
        "authorization", "cf-aig-authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie", "set-cookie",
    ]
    /// Body members never kept (the names a request may carry a key in).
    public static let neverKeptMembers: Set<String> = ["api_key", "apikey", "api-key", "key", "token", "access_token", "secret", "password", "authorization"]

    /// Lowercased names of the headers read that the request had.
    public var headers: [String: String]
    /// The body members read that the request had.
    public var body: [String: JSONValue]
    /// What the serving route read (`RouteReads.names`): a fact named here but absent from
    /// `headers`/`body` was absent from the request.
    public var read: [String]
    /// Facts read but not kept: over a size bound, or secret.
    public var dropped: [String]
    public var inputTokens: Int
    public var outputTokens: Int
    /// Kept when the route reads `request.tokens`.
    public var requestTokens: Int?

    public init(headers: [String: String] = [:], body: [String: JSONValue] = [:], read: [String] = [], dropped: [String] = [],
                inputTokens: Int = 0, outputTokens: Int = 0, requestTokens: Int? = nil) {
        self.headers = headers
        self.body = body
        self.read = read
        self.dropped = dropped
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.requestTokens = requestTokens
    }

    /// What `reads` reads of `facts`, bounded.
    public init(capturing facts: RequestFacts, reads: RouteReads) {
        self.init(read: reads.names, inputTokens: facts.estimatedInputTokens, outputTokens: facts.estimatedOutputTokens,
                  requestTokens: reads.requestTokens ? facts.requestTokens : nil)
        var dropped: [String] = []
        var size = jsonText.utf8.count
        for name in reads.headers.sorted() {
            guard let value = facts.headers[name] else { continue }
            let entry = 8 + JSONValue.string(name).canonicalJSON.utf8.count + JSONValue.string(value).canonicalJSON.utf8.count
            if Self.neverKeptHeaders.contains(name) || value.utf8.count > Self.maxHeaderBytes || size + entry > Self.maxBytes {
                dropped.append("headers.\(name)")
                continue
            }
            headers[name] = value
            size += entry
        }
        var members: [String] = reads.bodyMembers.sorted()
        if reads.wholeBody, let all = facts.body.objectValue { members = all.keys.sorted() }
        for name in members {
            guard let value = facts.body[name] else { continue }
            let text = value.canonicalJSON
            let entry = 8 + JSONValue.string(name).canonicalJSON.utf8.count + text.utf8.count
            if Self.neverKeptMembers.contains(name.lowercased()) || text.utf8.count > Self.maxMemberBytes || size + entry > Self.maxBytes {
                dropped.append("body.\(name)")
                continue
            }
            body[name] = value
            size += entry
        }
        self.dropped = dropped
    }

    /// Whether the log has `fact` (a `RouteReads.names` entry): read by the serving route and kept.
    public func has(_ fact: String) -> Bool {
        if dropped.contains(fact) { return false }
        // The whole body: only when no member of it was left out.
        if fact == "body" { return read.contains("body") && !dropped.contains { $0.hasPrefix("body.") } }
        if read.contains(fact) { return true }
        return fact.hasPrefix("body.") && read.contains("body")
    }

    /// The facts `reads` reads that this record lacks.
    public func missing(_ reads: RouteReads) -> [String] {
        reads.names.filter { !has($0) }
    }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "read": .array(read.map { .string($0) }),
            "tokens": .object(["input": .number(Double(inputTokens)), "output": .number(Double(outputTokens))]),
        ]
        if let requestTokens, case .object(var t)? = o["tokens"] {
            t["request"] = .number(Double(requestTokens))
            o["tokens"] = .object(t)
        }
        if !headers.isEmpty { o["headers"] = .object(headers.mapValues { .string($0) }) }
        if !body.isEmpty { o["body"] = .object(body) }
        if !dropped.isEmpty { o["dropped"] = .array(dropped.map { .string($0) }) }
        return .object(o)
    }

    /// The stored form: compact JSON, keys in a stable order.
    public var jsonText: String { json.canonicalJSON }

    public init?(json: JSONValue) {
        guard let o = json.objectValue else { return nil }
        let tokens = o["tokens"]?.objectValue ?? [:]
        self.init(
            headers: (o["headers"]?.objectValue ?? [:]).compactMapValues(\.stringValue),
            body: o["body"]?.objectValue ?? [:],
            read: (o["read"]?.arrayValue ?? []).compactMap(\.stringValue),
            dropped: (o["dropped"]?.arrayValue ?? []).compactMap(\.stringValue),
            inputTokens: tokens["input"]?.intValue ?? 0, outputTokens: tokens["output"]?.intValue ?? 0,
            requestTokens: tokens["request"]?.intValue)
    }

    /// Nil for text that is not a facts object (a column written by something else).
    public init?(jsonText: String) {
        guard let value = try? JSONValue.parse(jsonText) else { return nil }
        self.init(json: value)
    }

    /// The facts a replay evaluates a route on: these, the logged metadata, model and gateway.
    public func requestFacts(metadata: [String: JSONValue], model: String, gateway: String) -> RequestFacts {
        var facts = RequestFacts(metadata: metadata, headers: headers, body: .object(body), model: model, gateway: gateway,
                                 estimatedInputTokens: inputTokens, estimatedOutputTokens: outputTokens)
        facts.recordedRequestTokens = requestTokens
        return facts
    }
}
