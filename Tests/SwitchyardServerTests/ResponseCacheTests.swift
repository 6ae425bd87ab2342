import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

@Suite struct ResponseCacheTests {
    static let cacheOn = "gateways: { default: { cache: { ttl: 5m } } }"
    /// 1,000 when run alone (SWITCHYARD_HEAVY_TESTS=1); 200 by default, so that the burst does not starve
    /// the wall-clock bounds of suites running beside it on two cores.
    static let concurrentMisses = ProcessInfo.processInfo.environment["SWITCHYARD_HEAVY_TESTS"] == nil ? 200 : 1000

    @Test func repeatIsAHitAndSkipsTheUpstream() async throws {
        try await ControlsHarness.run(extra: Self.cacheOn) { client, h async throws in
            let first = try await client.chat(text: "cache me")
            #expect(first.status == .ok)
            #expect(first.header("cf-aig-cache-status") == "MISS")
            let second = try await client.chat(text: "cache me")
            #expect(second.status == .ok)
            #expect(second.header("cf-aig-cache-status") == "HIT")
            #expect(second.text == first.text)
            #expect(second.header("cf-aig-log-id") != first.header("cf-aig-log-id"))
            #expect(second.header("cf-aig-provider") == "openai")
            #expect(h.fake.requests().count == 1)
            // Key order and whitespace do not matter: the body is canonicalised.
            let reordered = try await client.post(
                "/v1/acct/default/compat/chat/completions",
                json: #"{ "messages": [{"content": "cache me", "role": "user"}], "model": "openai/gpt-5-mini" }"#)
            #expect(reordered.header("cf-aig-cache-status") == "HIT")
            // Another body, another credential: misses.
            #expect(try await client.chat(text: "other").header("cf-aig-cache-status") == "MISS")
            let ownKey = try await client.chat(text: "cache me", headers: [.authorization: "Bearer sk-client-own-key-1"])
            #expect(ownKey.header("cf-aig-cache-status") == "MISS")
            let alias = try await client.chat(text: "cache me", headers: [HTTPField.Name("cf-aig-byok-alias")!: "team-b"])
            #expect(alias.header("cf-aig-cache-status") == "MISS")
            #expect(h.fake.requests().count == 4)
        }
    }

    @Test func concurrentIdenticalMissesMakeOneUpstreamCall() async throws {
        let h = try await ControlsHarness.run(keepLog: true, extra: Self.cacheOn, fake: FakeUpstreamConfiguration(defaults: FakeBehavior(latencyMs: 200))) { client, h async throws in
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String?, String).self) { group in
                for _ in 0..<Self.concurrentMisses {
                    group.addTask {
                        let r = try await client.chat(text: "same question")
                        return (r.status, r.header("cf-aig-cache-status"), r.text)
                    }
                }
                var out: [(HTTPResponse.Status, String?, String)] = []
                for try await r in group { out.append(r) }
                return out
            }
            #expect(statuses.count == Self.concurrentMisses)
            #expect(statuses.allSatisfy { $0.0 == .ok })
            #expect(Set(statuses.map(\.2)).count == 1)
            #expect(statuses.filter { $0.1 == "MISS" }.count == 1)
            #expect(statuses.filter { $0.1 == "HIT" }.count == Self.concurrentMisses - 1)
            #expect(h.fake.requests().count == 1)
        }
        defer { h.removeDatabase() }
        let records = try await h.allRecords()
        #expect(records.count == Self.concurrentMisses)
        #expect(records.filter(\.cached).count == Self.concurrentMisses - 1)
        #expect(records.filter { !$0.cached }.allSatisfy { $0.cost > 0 })
        #expect(records.filter(\.cached).allSatisfy { $0.cost == 0 && $0.tokensIn > 0 })
    }

    @Test func entriesExpireOnTheInjectedClock() async throws {
        try await ControlsHarness.run { client, h async throws in
            let ttl: HTTPFields = [HTTPField.Name("cf-aig-cache-ttl")!: "60"]
            #expect(try await client.chat(text: "ttl", headers: ttl).header("cf-aig-cache-status") == "MISS")
            h.clock.advance(59)
            #expect(try await client.chat(text: "ttl", headers: ttl).header("cf-aig-cache-status") == "HIT")
            h.clock.advance(1)
            #expect(try await client.chat(text: "ttl", headers: ttl).header("cf-aig-cache-status") == "MISS")
            #expect(h.fake.requests().count == 2)
            // Without a TTL on a gateway without caching, nothing is cached.
            #expect(try await client.chat(text: "no-ttl").header("cf-aig-cache-status") == "MISS")
            #expect(try await client.chat(text: "no-ttl").header("cf-aig-cache-status") == "MISS")
            #expect(h.fake.requests().count == 4)
        }
    }

    @Test func badTTLIs400() async throws {
        try await ControlsHarness.run { client, h async throws in
            for bad in ["59", "2592001", "abc", "-1"] {
                let r = try await client.chat(headers: [HTTPField.Name("cf-aig-cache-ttl")!: bad])
                #expect(r.status == .badRequest)
                #expect(r.json["internalCode"]?.numberValue == 2043)
            }
            #expect(try await client.chat(headers: [HTTPField.Name("cf-aig-cache-ttl")!: "2592000"]).status == .ok)
            #expect(h.fake.requests().count == 1)
        }
    }

    @Test func skipCacheFetchesAndRefreshes() async throws {
        try await ControlsHarness.run(extra: Self.cacheOn) { client, h async throws in
            _ = try await client.chat(text: "skip")
            let skipped = try await client.chat(text: "skip", headers: [HTTPField.Name("cf-aig-skip-cache")!: "true"])
            #expect(skipped.header("cf-aig-cache-status") == "MISS")
            #expect(h.fake.requests().count == 2)
            #expect(try await client.chat(text: "skip").header("cf-aig-cache-status") == "HIT")
            #expect(h.fake.requests().count == 2)
        }
    }

    @Test func customCacheKeyReplacesTheComputedOne() async throws {
        try await ControlsHarness.run { client, h async throws in
            let key: HTTPFields = [HTTPField.Name("cf-aig-cache-key")!: "faq-1"]
            let first = try await client.chat(text: "one", headers: key)
            let second = try await client.chat(text: "two", headers: key)
            #expect(second.header("cf-aig-cache-status") == "HIT")
            #expect(second.text == first.text)
            #expect(h.fake.requests().count == 1)
        }
    }

    @Test func errorsAreNotCached() async throws {
        try await ControlsHarness.run(extra: Self.cacheOn) { client, h async throws in
            h.fake.setBehavior(FakeBehavior(status: 400), forModel: "gpt-5-mini")
            #expect(try await client.chat(text: "fails").status == .badRequest)
            #expect(try await client.chat(text: "fails").status == .badRequest)
            #expect(h.fake.requests().count == 2)
        }
    }

    @Test func streamedAnswersReplayByteIdentical() async throws {
        try await ControlsHarness.run(extra: Self.cacheOn, fake: FakeUpstreamConfiguration(defaults: FakeBehavior(chunks: 5))) { client, h async throws in
            let first = try await client.chat(text: "stream me", stream: true)
            #expect(first.status == .ok)
            #expect(first.header("cf-aig-cache-status") == "MISS")
            #expect(SSEPayloads(first.text).payloads.last == "[DONE]")
            let second = try await client.chat(text: "stream me", stream: true)
            #expect(second.header("cf-aig-cache-status") == "HIT")
            #expect(second.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(Array(second.body.readableBytesView) == Array(first.body.readableBytesView))
            #expect(h.fake.requests().count == 1)
        }
    }

    @Test func passthroughIsCachedToo() async throws {
        try await ControlsHarness.run(extra: Self.cacheOn) { client, h async throws in
            let body = #"{"model":"gpt-5-mini","messages":[{"role":"user","content":"native"}]}"#
            let first = try await client.post("/v1/acct/default/openai/chat/completions", json: body)
            #expect(first.status == .ok)
            let second = try await client.post("/v1/acct/default/openai/chat/completions", json: body)
            #expect(second.header("cf-aig-cache-status") == "HIT")
            #expect(second.text == first.text)
            #expect(h.fake.requests().count == 1)
        }
    }

    @Test func lruEvictsBeyondTheSizeBound() {
        let cache = ResponseCache(maxBytes: 3 * 1300)
        func entry() -> ResponseCache.Entry {
            .init(status: 200, headers: [], body: ByteBuffer(repeating: 0, count: 1000), usage: nil, provider: nil, model: nil,
                  step: 0, route: nil, routePath: nil, expiresAt: 100)
        }
        for key in ["a", "b", "c"] {
            guard case .lead(let f) = cache.lookup(key, now: 0) else { Issue.record("expected a miss"); return }
            cache.complete(key, flight: f, entry: entry())
        }
        guard case .hit = cache.lookup("a", now: 0) else { Issue.record("a should be cached"); return }
        guard case .lead(let f) = cache.lookup("d", now: 0) else { Issue.record("expected a miss"); return }
        cache.complete("d", flight: f, entry: entry())
        #expect(cache.count == 3)
        #expect(cache.byteCount <= cache.maxBytes)
        if case .hit = cache.lookup("b", now: 0) { Issue.record("b was least recently used and should be gone") }
        guard case .hit = cache.lookup("a", now: 0) else { Issue.record("a was used recently"); return }
    }

    @Test func hitsSkipRouteLimitsAndDynamicKeysIncludeMetadata() async throws {
        let source = RouteSource(path: "routes/metered.yaml", contents: """
            nodes:
              budget:
                rate: { limit: 1, per: 1d }
                then: answer
                exceeded: reject
              answer:
                model: openai/pricey
            """)
        let prices = PriceTable(overrides: ["openai/pricey": ModelPrice(input: 1_000_000, output: 1_000_000)])
        let graph = try #require(RouteCompiler.compile(source, options: RouteCompilerOptions(prices: prices)).graph)
        let extra = """
            gateways: { default: { cache: { ttl: 5m } } }
            pricing:
              openai/pricey: { input: 1000000, output: 1000000 }
            """
        try await ControlsHarness.run(extra: extra, routes: RouteCatalog(graphs: [graph])) { client, h async throws in
            let first = try await client.chat("dynamic/metered", text: "budgeted")
            #expect(first.status == .ok)
            #expect(first.header("cf-aig-cache-status") == "MISS")
            // The route's limit is reached: a new question is turned away, the cached one is still answered.
            let limited = try await client.chat("dynamic/metered", text: "new question")
            #expect(limited.status == .tooManyRequests && limited.json["internalCode"]?.numberValue == 2041, "the route's rate limit answered")
            let again = try await client.chat("dynamic/metered", text: "budgeted")
            #expect(again.status == .ok)
            #expect(again.header("cf-aig-cache-status") == "HIT")
            #expect(again.header("x-switchyard-route") == first.header("x-switchyard-route"))
            let otherMetadata = try await client.chat("dynamic/metered", text: "budgeted", headers: [HTTPField.Name("cf-aig-metadata")!: #"{"plan":"free"}"#])
            #expect(otherMetadata.header("cf-aig-cache-status") != "HIT")
            #expect(h.fake.requests().count == 1)
        }
    }
}
