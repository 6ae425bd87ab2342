import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Synchronization
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardStorage
import SwitchyardTestSupport
import Testing

@testable import SwitchyardServer


/// A gateway in front of a fake upstream with a temporary SQLite request log, its own metrics
/// registry and a manual clock.
struct ControlsHarness: Sendable {
    let fake: FakeUpstream
    let store: SQLiteDatabase
    let registry: PrometheusCollectorRegistry
    let clock: ManualClock
    let logs: RequestLogCapture
    let databasePath: String

    func removeDatabase() {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: databasePath + suffix) }
    }

    static func temporaryDatabasePath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-test-\(UUID().uuidString).sqlite").path
    }

    static func yaml(fake: FakeUpstream, extra: String = "", openAIKeys: String = "{ default: sk-stored-openai-0001, team-b: sk-stored-openai-team-b }") -> String {
        """
        logs: { flush_interval: 50ms, queue_capacity: 20000 }
        \(extra)
        providers:
          openai:
            base_url: \(fake.openAIBaseURL)
            keys: \(openAIKeys)
          anthropic:
            base_url: \(fake.baseURL)
            keys: { default: sk-ant-stored-0001 }
        """
    }

    /// Runs `body` against the gateway; the log store is returned for inspection after shutdown.
    @discardableResult
    static func run(
        keepLog: Bool = false,
        extra: String = "",
        routes: RouteCatalog = RouteCatalog(),
        fake configuration: FakeUpstreamConfiguration = FakeUpstreamConfiguration(),
        yaml makeYAML: (@Sendable (FakeUpstream) -> String)? = nil,
        randomSeed: UInt64? = nil,
        _ body: @Sendable (any TestClientProtocol, ControlsHarness) async throws -> Void
    ) async throws -> ControlsHarness {
        let fake = try await FakeUpstream.start(configuration)
        let path = temporaryDatabasePath()
        do {
            let text = makeYAML?(fake) ?? yaml(fake: fake, extra: extra)
            var c = try ConfigurationParser.parse(text, environment: [:])
            c.listen.port = 0
            let harness = ControlsHarness(fake: fake, store: try SQLiteDatabase(path: path), registry: PrometheusCollectorRegistry(), clock: ManualClock(), logs: RequestLogCapture(), databasePath: path)
            let clock = harness.clock
            let app = buildApplication(
                configuration: c, environment: [:], routes: routes, logger: harness.logs.logger, now: { clock.now }, requestLog: harness.store, metrics: harness.registry,
                randomSeed: randomSeed
            )
            try await app.test(.router) { client in try await body(client, harness) }
            try await fake.shutdown()
            if !keepLog { harness.removeDatabase() }
            return harness
        } catch {
            try? await fake.shutdown()
            throw error
        }
    }

    func allRecords() async throws -> [RequestLogRecord] {
        var out: [RequestLogRecord] = []
        var page = 1
        while true {
            let (records, total) = try await store.query(RequestLogQuery(orderBy: .createdAt, descending: false, page: page, perPage: 1000))
            out += records
            if out.count >= total || records.isEmpty { return out }
            page += 1
        }
    }
}

/// A Prometheus text-format parser: samples by metric name and labels.
struct PrometheusText {
    struct Sample: Sendable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    let samples: [Sample]
    let types: [String: String]

    init(_ text: String) throws {
        var samples: [Sample] = []
        var types: [String: String] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count >= 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            var name = ""
            var labels: [String: String] = [:]
            var rest = Substring(line)
            if let brace = line.firstIndex(of: "{") {
                name = String(line[..<brace])
                guard let close = line.lastIndex(of: "}") else { throw ParseError(line: line) }
                var body = line[line.index(after: brace)..<close]
                while !body.isEmpty {
                    guard let eq = body.firstIndex(of: "=") else { throw ParseError(line: line) }
                    let key = String(body[..<eq])
                    var i = body.index(after: eq)
                    guard i < body.endIndex, body[i] == "\"" else { throw ParseError(line: line) }
                    i = body.index(after: i)
                    var value = ""
                    while i < body.endIndex, body[i] != "\"" {
                        if body[i] == "\\" { i = body.index(after: i) }
                        value.append(body[i])
                        i = body.index(after: i)
                    }
                    guard i < body.endIndex else { throw ParseError(line: line) }
                    labels[key] = value
                    body = body[body.index(after: i)...]
                    if body.first == "," { body = body.dropFirst() }
                }
                rest = line[line.index(after: close)...]
            } else {
                let parts = line.split(separator: " ", maxSplits: 1)
                name = String(parts[0])
                rest = parts.count > 1 ? parts[1] : ""
            }
            guard let value = Double(rest.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") else {
                throw ParseError(line: line)
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        self.samples = samples
        self.types = types
    }

    struct ParseError: Error, CustomStringConvertible {
        let line: String
        var description: String { "unparsable metrics line: \(line)" }
    }

    /// Sum of the samples of `name` whose labels include `matching`.
    func sum(_ name: String, _ matching: [String: String] = [:]) -> Double {
        samples.filter { s in s.name == name && matching.allSatisfy { s.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
    }
}

extension TestClientProtocol {
    func chat(_ model: String = "openai/gpt-5-mini", text: String = "hello", stream: Bool = false, headers: HTTPFields = [:], gateway: String = "default") async throws -> TestResponse {
        let body = #"{"model":"\#(model)","messages":[{"role":"user","content":"\#(text)"}]\#(stream ? #","stream":true,"stream_options":{"include_usage":true}"# : "")}"#
        return try await post("/v1/acct/\(gateway)/compat/chat/completions", json: body, headers: headers)
    }
}
