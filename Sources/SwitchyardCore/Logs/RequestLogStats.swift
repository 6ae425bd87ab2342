import Foundation

/// The few fields of a logged request that the dashboard's charts need.
public struct RequestLogSample: Sendable, Hashable {
    /// Unix seconds.
    public var createdAt: Double
    public var success: Bool
    public var cached: Bool
    public var durationMs: Double
    public var tokensIn: Int
    public var tokensOut: Int
    /// USD.
    public var cost: Double
    public var model: String
    public var provider: String

    public init(createdAt: Double, success: Bool, cached: Bool = false, durationMs: Double, tokensIn: Int = 0, tokensOut: Int = 0, cost: Double = 0, model: String = "", provider: String = "") {
        self.createdAt = createdAt
        self.success = success
        self.cached = cached
        self.durationMs = durationMs
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.cost = cost
        self.model = model
        self.provider = provider
    }

    public init(_ record: RequestLogRecord) {
        self.init(
            createdAt: record.createdAt, success: record.success, cached: record.cached, durationMs: record.durationMs,
            tokensIn: record.tokensIn, tokensOut: record.tokensOut, cost: record.cost, model: record.model, provider: record.provider
        )
    }
}

/// Request-log aggregates over a time range: totals, fixed-width time buckets, and per-model and
/// per-provider breakdowns (`GET /admin/stats`, the dashboard's overview).
public struct RequestLogStats: Sendable, Equatable {
    public struct Bucket: Sendable, Equatable {
        /// Unix seconds.
        public var start: Double
        public var requests = 0
        public var errors = 0
        public var cached = 0
        public var tokensIn = 0
        public var tokensOut = 0
        public var cost = 0.0
        /// Nearest-rank percentiles of the duration; nil without requests.
        public var p50Ms: Double?
        public var p99Ms: Double?

        public init(start: Double) { self.start = start }

        /// Cached answers over requests; nil without requests.
        public var cacheHitRate: Double? { requests == 0 ? nil : Double(cached) / Double(requests) }
    }

    public struct Group: Sendable, Equatable {
        public var name: String
        public var requests = 0
        public var errors = 0
        public var tokensIn = 0
        public var tokensOut = 0
        public var cost = 0.0
        public init(name: String) { self.name = name }
    }

    public var since: Double
    public var until: Double
    public var bucketSeconds: Double
    public var totals: Bucket
    public var buckets: [Bucket]
    /// Most requests first (then by name).
    public var models: [Group]
    public var providers: [Group]

    /// Buckets start at multiples of `bucket` (so they stay put as time moves on): the first one
    /// holds `since`, the last one `until`. Samples outside `[since, until]` are ignored.
    /// `bucket` must be positive; the caller bounds the bucket count.
    public static func compute(_ samples: [RequestLogSample], since: Double, until: Double, bucket: Double) -> RequestLogStats {
        precondition(bucket > 0 && until >= since)
        let first = (since / bucket).rounded(.down) * bucket
        let count = Int(((until - first) / bucket).rounded(.down)) + 1
        var buckets = (0..<count).map { Bucket(start: first + Double($0) * bucket) }
        var durations = [[Double]](repeating: [], count: count)
        var totals = Bucket(start: since)
        var all: [Double] = []
        var models: [String: Group] = [:]
        var providers: [String: Group] = [:]
        for s in samples where s.createdAt >= since && s.createdAt <= until {
            let i = min(count - 1, max(0, Int(((s.createdAt - first) / bucket).rounded(.down))))
            add(s, to: &buckets[i])
            add(s, to: &totals)
            durations[i].append(s.durationMs)
            all.append(s.durationMs)
            let model = s.model.isEmpty ? "(none)" : s.model
            let provider = s.provider.isEmpty ? "(none)" : s.provider
            add(s, to: &models[model, default: Group(name: model)])
            add(s, to: &providers[provider, default: Group(name: provider)])
        }
        for i in buckets.indices {
            (buckets[i].p50Ms, buckets[i].p99Ms) = (percentile(&durations[i], 0.5), percentile(&durations[i], 0.99))
        }
        (totals.p50Ms, totals.p99Ms) = (percentile(&all, 0.5), percentile(&all, 0.99))
        func ranked(_ groups: [String: Group]) -> [Group] {
            groups.values.sorted { $0.requests != $1.requests ? $0.requests > $1.requests : $0.name < $1.name }
        }
        return RequestLogStats(
            since: since, until: until, bucketSeconds: bucket, totals: totals, buckets: buckets,
            models: ranked(models), providers: ranked(providers)
        )
    }

    /// Nearest rank: the smallest value with at least `p` of the values at or below it.
    /// Sorts `values` in place.
    public static func percentile(_ values: inout [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        values.sort()
        let rank = Int((p * Double(values.count)).rounded(.up))
        return values[min(values.count - 1, max(0, rank - 1))]
    }

    private static func add(_ s: RequestLogSample, to b: inout Bucket) {
        b.requests += 1
        if !s.success { b.errors += 1 }
        if s.cached { b.cached += 1 }
        b.tokensIn = b.tokensIn.addingClamped(s.tokensIn)
        b.tokensOut = b.tokensOut.addingClamped(s.tokensOut)
        if s.cost.isFinite { b.cost += s.cost }
    }

    private static func add(_ s: RequestLogSample, to g: inout Group) {
        g.requests += 1
        if !s.success { g.errors += 1 }
        g.tokensIn = g.tokensIn.addingClamped(s.tokensIn)
        g.tokensOut = g.tokensOut.addingClamped(s.tokensOut)
        if s.cost.isFinite { g.cost += s.cost }
    }
}

extension Int {
    /// Stored token counts come from upstreams: a sum saturates instead of trapping.
    fileprivate func addingClamped(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
