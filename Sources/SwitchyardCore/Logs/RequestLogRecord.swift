/// One request as the log keeps it: Cloudflare AI Gateway's log fields plus the route taken.
public struct RequestLogRecord: Sendable, Hashable, Codable {
    public var id: String
    /// Unix seconds.
    public var createdAt: Double
    public var gateway: String
    public var account: String
    public var provider: String
    public var model: String
    /// `name@version` for dynamic routes.
    public var route: String?
    /// Nodes visited (`plan>paid-budget>claude`).
    public var routePath: String?
    public var step: Int
    public var path: String
    public var statusCode: Int
    public var success: Bool
    public var cached: Bool
    public var stream: Bool
    public var durationMs: Double
    public var timeToFirstByteMs: Double?
    public var tokensIn: Int
    public var tokensOut: Int
    public var cachedTokensIn: Int
    public var reasoningTokens: Int
    /// USD.
    public var cost: Double
    public var metadata: [String: JSONValue]
    public var eventId: String?
    public var userAgent: String?
    public var requestSize: Int
    public var responseSize: Int
    /// Bodies, unless payload collection is off for the request or the gateway.
    public var requestBody: String?
    public var responseBody: String?
    /// Set later through the feedback API: -1, 0 or 1.
    public var feedback: Int?
    public var score: Double?
    /// For a request to a dynamic route: the headers and body members that route read, and the
    /// token estimates (`RouteFacts`, at most 4 KiB), so `switchyard simulate` can replay it.
    public var routeFacts: RouteFacts?

    public init(
        id: String, createdAt: Double, gateway: String, account: String = "", provider: String, model: String,
        route: String? = nil, routePath: String? = nil, step: Int = 0, path: String = "", statusCode: Int, success: Bool,
        cached: Bool = false, stream: Bool = false, durationMs: Double, timeToFirstByteMs: Double? = nil,
        usage: Usage = Usage(), cost: Double = 0, metadata: [String: JSONValue] = [:], eventId: String? = nil,
        userAgent: String? = nil, requestSize: Int = 0, responseSize: Int = 0, requestBody: String? = nil,
        responseBody: String? = nil, feedback: Int? = nil, score: Double? = nil, routeFacts: RouteFacts? = nil
    ) {
        self.id = id
        self.createdAt = createdAt
        self.gateway = gateway
        self.account = account
        self.provider = provider
        self.model = model
        self.route = route
        self.routePath = routePath
        self.step = step
        self.path = path
        self.statusCode = statusCode
        self.success = success
        self.cached = cached
        self.stream = stream
        self.durationMs = durationMs
        self.timeToFirstByteMs = timeToFirstByteMs
        self.tokensIn = usage.promptTokens
        self.tokensOut = usage.completionTokens
        self.cachedTokensIn = usage.cachedPromptTokens
        self.reasoningTokens = usage.reasoningTokens
        self.cost = cost
        self.metadata = metadata
        self.eventId = eventId
        self.userAgent = userAgent
        self.requestSize = requestSize
        self.responseSize = responseSize
        self.requestBody = requestBody
        self.responseBody = responseBody
        self.feedback = feedback
        self.score = score
        self.routeFacts = routeFacts
    }
}

/// A query over the request log: filters, order and a page.
public struct RequestLogQuery: Sendable, Hashable {
    public enum Operator: String, Sendable, Hashable, CaseIterable {
        case eq, neq, contains, lt, gt
    }

    /// The fields a query can filter and order on (a closed set: never raw user input in SQL).
    public enum Field: String, Sendable, Hashable, CaseIterable {
        case id, createdAt = "created_at", gateway, account, provider, model, route, step, path
        case statusCode = "status_code", success, cached, stream, duration = "duration"
        case tokensIn = "tokens_in", tokensOut = "tokens_out", cost, eventId = "event_id", feedback, score
    }

    public enum Subject: Sendable, Hashable {
        case field(Field)
        /// A key of the request's metadata (`metadata.user_id`).
        case metadata(String)
    }

    public struct Filter: Sendable, Hashable {
        public var subject: Subject
        public var op: Operator
        public var value: JSONValue
        public init(_ subject: Subject, _ op: Operator, _ value: JSONValue) {
            self.subject = subject
            self.op = op
            self.value = value
        }
    }

    public var filters: [Filter]
    /// Only records created at or after this time (unix seconds).
    public var since: Double?
    public var orderBy: Field
    public var descending: Bool
    /// 1-based.
    public var page: Int
    public var perPage: Int

    public init(filters: [Filter] = [], since: Double? = nil, orderBy: Field = .createdAt, descending: Bool = true, page: Int = 1, perPage: Int = 50) {
        self.filters = filters
        self.since = since
        self.orderBy = orderBy
        self.descending = descending
        self.page = max(page, 1)
        self.perPage = min(max(perPage, 1), 1000)
    }
}

/// Changes the feedback API may make to a record.
public struct RequestLogPatch: Sendable, Hashable {
    public var feedback: Int?
    public var score: Double?
    /// Merged into the record's metadata.
    public var metadata: [String: JSONValue]?
    public init(feedback: Int? = nil, score: Double? = nil, metadata: [String: JSONValue]? = nil) {
        self.feedback = feedback
        self.score = score
        self.metadata = metadata
    }
}

/// Durable request-log storage, implemented by the storage layer.
public protocol RequestLogStore: Sendable {
    func insert(_ records: [RequestLogRecord]) async throws
    func query(_ query: RequestLogQuery) async throws -> (records: [RequestLogRecord], total: Int)
    func record(id: String) async throws -> RequestLogRecord?
    /// Returns the updated record, or nil when there is none with that id.
    func patch(id: String, _ patch: RequestLogPatch) async throws -> RequestLogRecord?
    /// Deletes records beyond `maxRows` (oldest first) and older than `maxAge` seconds before `now`.
    func prune(maxRows: Int?, maxAge: Double?, now: Double) async throws -> Int
    /// The chart fields of the newest `limit` records created at or after `since`, newest first.
    func samples(since: Double, limit: Int) async throws -> [RequestLogSample]
}

extension RequestLogStore {
    /// Pages through `query`; a store with a cheaper way (fewer columns, no bodies) overrides it.
    public func samples(since: Double, limit: Int) async throws -> [RequestLogSample] {
        var out: [RequestLogSample] = []
        var page = 1
        while out.count < limit {
            let (records, _) = try await query(RequestLogQuery(since: since, page: page, perPage: 1000))
            out += records.prefix(limit - out.count).map(RequestLogSample.init)
            if records.count < 1000 { break }
            page += 1
        }
        return out
    }
}
