import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardTestSupport
import Testing

@testable import SwitchyardServer

/// Limit keys chosen by the client (`key: body.user`) through the live gateway: short answers
/// whatever the key's length, and `limits.max_limit_keys` wired to the default store.
@Suite struct DynamicLimitKeyTests {
    static let perUser = """
        nodes:
          gate:
            rate: { limit: 1, per: 1m, key: body.user, technique: fixed }
            then: m
          m:
            model: openai/m-user
        """

    @Test func aHugeKeyGetsAShort429() async throws {
        let clock = ManualClock(1_800_000_000 + 5)
        try await RouteFixture.run(routes: ["peruser.yaml": Self.perUser], now: { clock.now }) { f, client in
            let user = String(repeating: "u", count: 500_000)
            let body = chat("dynamic/peruser", extra: #","user":"\#(user)""#)
            #expect(try await client.post("/compat/chat/completions", json: body).status == .ok)
            let r = try await client.post("/compat/chat/completions", json: body)
            #expect(r.status == .tooManyRequests)
            #expect(r.json["internalCode"]?.numberValue == 2041, "\(r.text.prefix(300))")
            #expect(r.body.readableBytes < 1024, "\(r.body.readableBytes) bytes")
            #expect(!r.text.contains(String(repeating: "u", count: 100)))
            // Another huge value has a counter of its own.
            let other = chat("dynamic/peruser", extra: #","user":"v\#(user)""#)
            #expect(try await client.post("/compat/chat/completions", json: other).status == .ok)
            #expect(f.fake.count(model: "m-user") == 2)
        }
    }

    @Test func maxLimitKeysRefusesNewKeysAndIsPublished() async throws {
        let fake = try await FakeUpstream.start()
        let dir = NSTemporaryDirectory() + "switchyard-limit-keys-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Self.perUser.write(toFile: dir + "/peruser.yaml", atomically: true, encoding: .utf8)
            var configuration = try ConfigurationParser.parse("""
                routes: \(dir)
                providers:
                  openai: { base_url: "\(fake.openAIBaseURL)", keys: { default: sk-test } }
                limits: { max_limit_keys: 2 }
                """, environment: [:])
            configuration.listen.port = 0
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let clock = ManualClock(1_800_000_000 + 5)
            // No store passed: the application's default one, capped by the configuration.
            let app = buildApplication(
                configuration: configuration, environment: [:], routes: RouteLoading.load(directory: dir, configuration: configuration), logger: logger,
                now: { clock.now }
            )
            try await app.test(.router) { client in
                func ask(_ user: String) async throws -> TestResponse {
                    try await client.post("/compat/chat/completions", json: chat("dynamic/peruser", extra: #","user":"\#(user)""#))
                }
                #expect(try await ask("u1").status == .ok)
                #expect(try await ask("u2").status == .ok)
                let refused = try await ask("u3")
                #expect(refused.status == .tooManyRequests)
                #expect(refused.json["internalCode"]?.numberValue == 2041)
                let message = refused.json["message"]?.stringValue ?? refused.text
                #expect(message.contains("too many distinct keys") && message.contains("limits.max_limit_keys"), "\(refused.text)")
                #expect(refused.header("retry-after") != nil)
                // Known keys keep their counters: u1 is over its limit, not refused.
                let u1 = try await ask("u1")
                #expect(u1.status == .tooManyRequests)
                #expect(!(u1.text.contains("too many distinct keys")))

                let scrape = try await client.execute(uri: "/metrics", method: .get)
                let metrics = try PrometheusText(String(buffer: scrape.body))
                #expect(metrics.sum("switchyard_limit_keys") == 2)
                #expect(metrics.sum("switchyard_limit_keys_refused") == 1)
                #expect(metrics.sum("switchyard_limit_keys_evicted") == 0)

                // A minute and more later the old windows have passed: a new key fits again.
                clock.advance(120)
                #expect(try await ask("u3").status == .ok)
                let later = try PrometheusText(String(buffer: try await client.execute(uri: "/metrics", method: .get).body))
                #expect(later.sum("switchyard_limit_keys") == 1)
                #expect(later.sum("switchyard_limit_keys_evicted") == 2)
            }
        } catch {
            try? await fake.shutdown()
            throw error
        }
        try await fake.shutdown()
    }
}
