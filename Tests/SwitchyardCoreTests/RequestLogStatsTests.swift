import Testing
@testable import SwitchyardCore

/// The overview's aggregates: fixed buckets aligned to the bucket width, nearest-rank percentiles,
/// per-model and per-provider groups.
@Suite struct RequestLogStatsTests {
    @Test func bucketsAlignAndCountEverySample() {
        let samples = [
            RequestLogSample(createdAt: 1005, success: true, durationMs: 100, tokensIn: 10, tokensOut: 20, cost: 0.5, model: "a", provider: "p"),
            RequestLogSample(createdAt: 1059.9, success: false, durationMs: 300, model: "a", provider: "p"),
            RequestLogSample(createdAt: 1060, success: true, cached: true, durationMs: 5, tokensIn: 1, tokensOut: 2, cost: 0.25, model: "b", provider: "q"),
            RequestLogSample(createdAt: 1130, success: true, durationMs: 50, model: "b", provider: "q"),
            // Outside [since, until]: ignored.
            RequestLogSample(createdAt: 999, success: true, durationMs: 1),
            RequestLogSample(createdAt: 1200, success: true, durationMs: 1),
        ]
        let s = RequestLogStats.compute(samples, since: 1001, until: 1150, bucket: 60)
        // 1001 falls in [960, 1020); 1150 in [1140, 1200).
        #expect(s.buckets.map(\.start) == [960, 1020, 1080, 1140])
        #expect(s.buckets.map(\.requests) == [1, 2, 1, 0])
        #expect(s.buckets.map(\.errors) == [0, 1, 0, 0])
        #expect(s.buckets[1].cached == 1 && s.buckets[1].cacheHitRate == 0.5)
        #expect(s.buckets[3].p50Ms == nil && s.buckets[3].cacheHitRate == nil)
        #expect(s.totals.requests == 4 && s.totals.errors == 1 && s.totals.cached == 1)
        #expect(s.totals.tokensIn == 11 && s.totals.tokensOut == 22 && s.totals.cost == 0.75)
        // Durations 5, 50, 100, 300: nearest rank p50 is the 2nd, p99 the 4th.
        #expect(s.totals.p50Ms == 50 && s.totals.p99Ms == 300)
        #expect(s.models.map(\.name) == ["a", "b"] && s.models.map(\.requests) == [2, 2])
        #expect(s.providers.first { $0.name == "p" }?.errors == 1)
        #expect(s.providers.first { $0.name == "q" }?.cost == 0.25)
    }

    @Test func percentilesAreNearestRank() {
        var values = (1...100).map(Double.init).reversed().map { $0 }
        #expect(RequestLogStats.percentile(&values, 0.5) == 50)
        #expect(RequestLogStats.percentile(&values, 0.99) == 99)
        #expect(RequestLogStats.percentile(&values, 1) == 100)
        var one = [7.0]
        #expect(RequestLogStats.percentile(&one, 0.99) == 7)
        var none: [Double] = []
        #expect(RequestLogStats.percentile(&none, 0.5) == nil)
    }

    @Test func hostileStoredNumbersDoNotTrap() {
        let samples = [
            RequestLogSample(createdAt: 10, success: true, durationMs: 1, tokensIn: .max, tokensOut: .max, cost: .infinity),
            RequestLogSample(createdAt: 11, success: true, durationMs: 1, tokensIn: .max, tokensOut: 1, cost: 1),
        ]
        let s = RequestLogStats.compute(samples, since: 0, until: 20, bucket: 5)
        #expect(s.totals.tokensIn == .max && s.totals.cost == 1)
        #expect(s.buckets.count == 5)
    }
}
