import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Synchronization
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// The whole configuration file reloads while requests and streams run: keys rotate, tokens are
/// revoked, broken files change nothing, secret files are read again.
@Suite struct ConfigReloadTests {
    struct Fixture: Sendable {
        let directory: String
        let fake: FakeUpstream
        var path: String { directory + "/switchyard.yaml" }

        func write(key: String, tokens: [String] = ["tok-keep-0001", "tok-revoke-01"], extra: String = "") throws {
            try """
                gateways:
                  default:
                    authentication: true
                    tokens: [\(tokens.joined(separator: ", "))]
                providers:
                  openai: { base_url: "\(fake.openAIBaseURL)", keys: { default: "\(key)" } }
                \(extra)
                """.write(toFile: path, atomically: true, encoding: .utf8)
        }

        func writeRaw(_ text: String) throws {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    static func run(
        fake configuration: FakeUpstreamConfiguration = .init(), pollEvery: Duration? = nil,
        initial: (Fixture) throws -> Void, _ body: @Sendable (Fixture, any TestClientProtocol, PrometheusCollectorRegistry) async throws -> Void
    ) async throws {
        let fake = try await FakeUpstream.start(configuration)
        let directory = NSTemporaryDirectory() + "switchyard-reload-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let fixture = Fixture(directory: directory, fake: fake)
            try initial(fixture)
            var parsed = try ConfigurationParser.parse(try String(contentsOfFile: fixture.path, encoding: .utf8), path: fixture.path, environment: [:])
            parsed.listen.port = 0
            parsed.routesDirectory = directory
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let registry = PrometheusCollectorRegistry()
            let source = ConfigurationSource(path: fixture.path, environment: { [:] }, adjust: { $0.listen.port = 0; $0.routesDirectory = directory })
            let app = buildApplication(
                configuration: parsed, environment: [:], reloadRoutesEvery: pollEvery, logger: logger, metrics: registry, configurationSource: source
            )
            try await app.test(.router) { client in try await body(fixture, client, registry) }
        } catch {
            try? await fake.shutdown()
            throw error
        }
        try await fake.shutdown()
    }

    static func reload(_ client: any TestClientProtocol) async throws -> JSONValue {
        let response = try await client.execute(uri: "/admin/reload", method: .post)
        #expect(response.status == .ok)
        return response.json
    }

    static func config(_ client: any TestClientProtocol) async throws -> JSONValue {
        try await client.execute(uri: "/admin/config", method: .get).json
    }

    static let keep = headers([("authorization", "Bearer tok-keep-0001")])
    static let revoked = headers([("authorization", "Bearer tok-revoke-01")])

    /// 2,000 requests and 20 streams while the provider key is rotated ten times and a token is
    /// revoked: none fails, every upstream call carries a key the configuration held, the revoked
    /// token is refused from the next request on, every stream completes.
    static let loadRequests = 2000

    /// Runs in scripts/test.sh's heavy phase (SWITCHYARD_HEAVY_TESTS=1), on its own.
    @Test(.enabled(if: heavyTests)) func keysRotateAndATokenIsRevokedUnderLoad() async throws {
        let fake = FakeUpstreamConfiguration(defaults: FakeBehavior(chunkIntervalMs: 15, chunks: 8))
        try await Self.run(fake: fake, initial: { try $0.write(key: "sk-rot-key-00") }) { f, client, registry in
            let failures = Failures()
            let validKeys = Set((0...10).map { "Bearer sk-rot-key-\(String(format: "%02d", $0))" })
            #expect(try await client.chat(headers: Self.revoked).status == .ok)
            try await withThrowingTaskGroup(of: Void.self) { group in
                // 20 streams, started with the load.
                for i in 0..<20 {
                    group.addTask {
                        let response = try await client.chat(text: "stream \(i)", stream: true, headers: Self.keep)
                        if response.status != .ok || !response.text.contains("[DONE]") {
                            failures.add("stream \(i): \(response.status) \(response.text.prefix(200))")
                        }
                    }
                }
                // 2,000 requests, 16 at a time.
                group.addTask {
                    try await withThrowingTaskGroup(of: Void.self) { load in
                        for i in 0..<Self.loadRequests {
                            if i >= 16 { try await load.next() }
                            load.addTask {
                                let response = try await client.chat(text: "load \(i)", headers: Self.keep)
                                if response.status != .ok { failures.add("request \(i): \(response.status) \(response.text.prefix(200))") }
                            }
                        }
                        try await load.waitForAll()
                    }
                }
                // Ten rotations, each once more traffic has reached the upstream.
                group.addTask {
                    for k in 1...10 {
                        let seen = f.fake.counters.requests
                        _ = await f.fake.wait(timeout: .seconds(30)) { $0.requests >= seen + Self.loadRequests / 20 }
                        try f.write(key: "sk-rot-key-\(String(format: "%02d", k))")
                        let answer = try await Self.reload(client)
                        #expect(answer["configuration"]?["version"]?.numberValue == Double(k + 1))
                    }
                }
                try await group.waitForAll()
            }
            #expect(failures.all.isEmpty, "\(failures.all.prefix(5))")
            let used = Set(f.fake.requests().compactMap { $0.header("authorization") })
            #expect(used.isSubset(of: validKeys), "\(used.subtracting(validKeys))")
            #expect(used.count >= 5, "only \(used.count) keys were used across ten rotations")
            #expect(try await client.chat(headers: Self.keep).status == .ok)
            #expect(f.fake.requests().last?.header("authorization") == "Bearer sk-rot-key-10")

            // Revoke one token: the very next request with it is refused.
            try f.write(key: "sk-rot-key-10", tokens: ["tok-keep-0001"])
            _ = try await Self.reload(client)
            let refused = try await client.chat(headers: Self.revoked)
            #expect(refused.status == .unauthorized)
            #expect(refused.json["internalCode"]?.numberValue == 2009)
            #expect(try await client.chat(headers: Self.keep).status == .ok)

            let metrics = try PrometheusText(String(buffer: try await client.execute(uri: "/metrics", method: .get).body))
            #expect(metrics.sum("switchyard_config_version") == 12)
            #expect(metrics.sum("switchyard_config_reloads_total", ["result": "success"]) == 11)
        }
    }

    @Test func aBrokenFileChangesNothingAndSaysWhere() async throws {
        try await Self.run(initial: { try $0.write(key: "sk-good-key-01") }) { f, client, registry in
            try f.writeRaw("gateways:\n  default:\n    authentication: maybe\nproviders:\n  openai: { keys: { default: \"sk-bad-key\" } }\n")
            let answer = try await Self.reload(client)
            #expect(answer["configuration_reloaded"] == .bool(false))
            let status = try await Self.config(client)
            let error = try #require(status["last_error"]?.stringValue)
            #expect(error.contains("switchyard.yaml:3:21: error:"), "\(error)")
            #expect(status["version"]?.numberValue == 1)
            // Still serving the previous configuration: same token, same key.
            #expect(try await client.chat(headers: Self.keep).status == .ok)
            #expect(f.fake.requests().last?.header("authorization") == "Bearer sk-good-key-01")

            try f.write(key: "sk-good-key-02")
            #expect(try await Self.reload(client)["configuration_reloaded"] == .bool(true))
            let fixed = try await Self.config(client)
            #expect(fixed["last_error"] == .null)
            #expect(fixed["version"]?.numberValue == 2)
            #expect(try await client.chat(headers: Self.keep).status == .ok)
            #expect(f.fake.requests().last?.header("authorization") == "Bearer sk-good-key-02")
            let metrics = try PrometheusText(String(buffer: try await client.execute(uri: "/metrics", method: .get).body))
            #expect(metrics.sum("switchyard_config_reloads_total", ["result": "error"]) == 1)
        }
    }

    /// `${file:...}` secrets are read again when the file changes, found by the watcher.
    @Test func secretFilesAreReadAgainOnChange() async throws {
        try await Self.run(pollEvery: .milliseconds(50), initial: { f in
            try "sk-from-file-0001\n".write(toFile: f.directory + "/openai.key", atomically: true, encoding: .utf8)
            try f.write(key: "${file:\(f.directory)/openai.key}")
        }) { f, client, _ in
            #expect(try await client.chat(headers: Self.keep).status == .ok)
            #expect(f.fake.requests().last?.header("authorization") == "Bearer sk-from-file-0001")
            try "sk-from-file-0002\n".write(toFile: f.directory + "/openai.key", atomically: true, encoding: .utf8)
            var version = 1.0
            for _ in 0..<200 where version < 2 {
                version = try await Self.config(client)["version"]?.numberValue ?? 0
                if version < 2 { try await Task.sleep(for: .milliseconds(25)) }
            }
            #expect(version == 2, "the watcher did not pick up the changed secret file")
            #expect(try await client.chat(headers: Self.keep).status == .ok)
            #expect(f.fake.requests().last?.header("authorization") == "Bearer sk-from-file-0002")
            // The secret never shows in the admin answer.
            let text = String(buffer: try await client.execute(uri: "/admin/config", method: .get).body)
            #expect(!text.contains("sk-from-file"))
        }
    }

    @Test func settingsThatNeedARestartAreNamedNotSilentlyIgnored() async throws {
        try await Self.run(initial: { try $0.write(key: "sk-restart-01") }) { f, client, _ in
            try f.write(key: "sk-restart-02", extra: "storage: memory\nlisten: { port: 9999 }\nlimits: { max_connections: 10, max_body_bytes: 100 }\n")
            let answer = try await Self.reload(client)
            #expect(answer["configuration_reloaded"] == .bool(true))
            let pending = try await Self.config(client)["restart_required"]?.arrayValue?.compactMap(\.stringValue) ?? []
            // listen.port is set by the command line (here: the test's adjust), which wins over the file.
            #expect(pending == ["storage", "limits.max_connections"], "\(pending)")
            // Reloadable settings in the same file applied: the new key, the new body limit.
            let large = try await client.chat(text: String(repeating: "x", count: 200), headers: Self.keep)
            #expect(large.status == .contentTooLarge)
        }
    }

    @Test func secretFileReferencesAreFoundAndAMissingOneIsALocatedError() throws {
        #expect(ConfigurationParser.secretFiles(in: "a: ${file:/run/a}\nb: \"x${file:/run/b}y\"") == ["/run/a", "/run/b"])
        #expect(throws: ConfigurationError.self) {
            try ConfigurationParser.parse("admin: { token: \"${file:/nonexistent/switchyard-secret}\" }", environment: [:])
        }
        do {
            _ = try ConfigurationParser.parse("admin: { token: \"${file:/nonexistent/switchyard-secret}\" }", environment: [:])
        } catch {
            #expect(error.description.contains("switchyard.yaml:1:17: error: cannot read secret file '/nonexistent/switchyard-secret'"), "\(error)")
        }
    }
}

final class Failures: Sendable {
    private let lines = Mutex<[String]>([])
    func add(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
