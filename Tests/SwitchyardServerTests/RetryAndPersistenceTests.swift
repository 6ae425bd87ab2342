import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import SwitchyardStorage
import Testing

@testable import SwitchyardServer

/// Retries as `RetryPolicy` says (through `AttemptExecutor`), durable limits, and streamed
/// responses that close their connection explicitly.
@Suite struct RetryAndPersistenceTests {
    final class Delays: Sendable {
        private let values = Mutex<[Double]>([])
        func record(_ d: Double) { values.withLock { $0.append(d) } }
        var all: [Double] { values.withLock { $0 } }
    }

    /// Runs `attempt` (model `model`, `retries` extra tries) once against the fake; delays are recorded, not slept.
    func run(_ fake: FakeUpstream, model: String, retries: Int, backoff: Backoff = Backoff(delay: 0.1, mode: .exponential)) async throws -> (AttemptResult, [Double]) {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let delays = Delays()
        do {
            let dispatcher = Dispatcher(client: client, defaultTimeout: .seconds(5))
            let executor = AttemptExecutor(dispatcher: dispatcher, sleep: { delays.record($0) })
            let provider = UpstreamProvider(slug: "openai", family: .openAICompatible, baseURL: fake.openAIBaseURL, auth: .bearer, keys: ["default": "sk"], keyVariables: [], isCustom: false)
            let body = try JSONObjectBody(bytes: Array(#"{"model":"x","messages":[{"role":"user","content":"hi"}]}"#.utf8))
            let request = DispatchRequest(operation: .chatCompletions, body: body, stream: false, headers: [], credential: .stored(alias: "default"))
            var rng = SplitMix64(seed: 7)
            let result = try await executor.run(request, attempt: DispatchAttempt(provider: provider, model: model, retries: retries, backoff: backoff), rng: &rng, logger: Logger(label: "test"))
            try await client.shutdown()
            return (result, delays.all)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func count(_ fake: FakeUpstream, _ model: String) -> Int { fake.requests().filter { $0.model == model }.count }

    @Test func retryPolicyDecidesWhatIsRetried() async throws {
        let fake = try await FakeUpstream.start(FakeUpstreamConfiguration(perModel: [
            "r429": FakeBehavior(status: 429, retryAfter: "3"),
            "r429-long": FakeBehavior(status: 503, retryAfter: "1000"),
            "r400": FakeBehavior(status: 400),
            "r408": FakeBehavior(failFirst: 1, failStatus: 408),
            "r503": FakeBehavior(failFirst: 2, failStatus: 503),
            "broken": FakeBehavior(malformed: true),
        ]))
        defer { Task { try? await fake.shutdown() } }

        let (limited, d429) = try await run(fake, model: "r429", retries: 2)
        guard case .failed(.response(let outcome)) = limited else { Issue.record("expected a failure, got \(limited)"); return }
        #expect(outcome.status == 429)
        #expect(d429 == [3, 3], "Retry-After replaces the shorter backoff")
        #expect(count(fake, "r429") == 3)

        let (_, dLong) = try await run(fake, model: "r429-long", retries: 1)
        #expect(dLong == [30], "Retry-After is capped")

        let (bad, d400) = try await run(fake, model: "r400", retries: 3)
        guard case .failed(.response(let badOutcome)) = bad else { Issue.record("expected a failure"); return }
        #expect(badOutcome.status == 400)
        #expect(d400.isEmpty && count(fake, "r400") == 1, "a 400 is not retried")

        let (timeout, d408) = try await run(fake, model: "r408", retries: 1)
        guard case .served = timeout else { Issue.record("408 is retried"); return }
        #expect(d408.count == 1)

        let (served, d503) = try await run(fake, model: "r503", retries: 2)
        guard case .served(let ok) = served else { Issue.record("expected success after two 503s"); return }
        #expect(ok.status == 200)
        #expect(d503.count == 2 && d503[0] >= 0.08 && d503[0] <= 0.12 && d503[1] >= 0.16 && d503[1] <= 0.24, "exponential with ±20 % jitter: \(d503)")

        let (malformed, _) = try await run(fake, model: "broken", retries: 1)
        guard case .failed(.error(let e)) = malformed else { Issue.record("a malformed body is a failed attempt"); return }
        #expect(e.code == 2005)
        #expect(count(fake, "broken") == 2)
    }

    @Test func limitsSurviveARestart() async throws {
        let path = NSTemporaryDirectory() + "switchyard-limits-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var configuration = try ConfigurationParser.parse("""
            gateways:
              default:
                rate_limit: { limit: 3, per: 1h, technique: fixed }
            """, environment: [:])
        configuration.listen.port = 0
        let now: @Sendable () -> Double = { 1_800_000_100 }
        for instance in 0..<2 {
            let (limits, persister) = try await LimitStorage.open(backend: try SQLiteDatabase(path: path), logger: Logger(label: "test"), now: now)
            let app = buildApplication(configuration: configuration, environment: [:], limits: limits, limitPersister: persister, now: now)
            try await app.test(.router) { client in
                let statuses = try await (0..<(instance == 0 ? 3 : 1)).asyncMap { _ in
                    try await client.execute(uri: "/compat/models", method: .get).status
                }
                if instance == 0 {
                    #expect(statuses == [.ok, .ok, .ok])
                } else {
                    // The window was full when the first instance stopped.
                    #expect(statuses == [.tooManyRequests])
                }
            }
        }
    }

    @Test func streamedResponsesCloseTheirConnection() async throws {
        let fake = try await FakeUpstream.start()
        var configuration = try ConfigurationParser.parse("""
            providers:
              openai: { base_url: "\(fake.openAIBaseURL)", keys: { default: sk } }
            """, environment: [:])
        configuration.listen.port = 0
        let app = buildApplication(configuration: configuration, environment: [:])
        try await app.test(.ahc(.http)) { client in
            for _ in 0..<10 {
                let stream = try await client.execute(
                    uri: "/compat/chat/completions", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"model":"openai/m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#))
                #expect(stream.status == .ok)
                #expect(stream.headers[.connection] == "close")
                let plain = try await client.execute(
                    uri: "/compat/chat/completions", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"model":"openai/m","messages":[{"role":"user","content":"hi"}]}"#))
                #expect(plain.status == .ok)
            }
        }
        try await fake.shutdown()
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for e in self { out.append(try await transform(e)) }
        return out
    }
}
