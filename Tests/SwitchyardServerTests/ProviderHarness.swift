import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import Testing

@testable import SwitchyardServer

/// Log lines the gateway wrote, for usage that reaches only the request log.
final class RequestLogCapture: Sendable {
    struct Line: Sendable {
        let message: String
        let metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])

    var all: [Line] { lines.withLock { $0 } }

    func append(_ line: Line) { lines.withLock { $0.append(line) } }

    /// The request log line of `path` (the gateway logs `METHOD /path`).
    func request(_ path: String) -> Line? { all.last { $0.message.hasSuffix(" " + path) || $0.message.contains(" \(path)?") } }

    /// Waits for the log line written after a response body ended (streams log on completion).
    func waitForRequest(_ path: String) async -> Line? {
        for _ in 0..<400 {
            if let line = request(path) { return line }
            await Task.yield()
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    struct Handler: LogHandler {
        let sink: RequestLogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var flat: [String: String] = [:]
            for (k, v) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { flat[k] = "\(v)" }
            sink.append(Line(message: "\(event.message)", metadata: flat))
        }
    }

    var logger: Logger { Logger(label: "test") { _ in Handler(sink: self) } }
}

/// A gateway whose providers all point at one fake upstream, with stored keys.
struct ProviderHarness {
    static let clock: @Sendable () -> Int = { 1_700_000_000 }
    static let keys = [
        "openai": "sk-stored-openai", "anthropic": "sk-ant-stored", "google-ai-studio": "goog-stored",
        "workers-ai": "cf-stored", "azure-openai": "azure-stored",
    ]

    static func yaml(fake: FakeUpstream, azureExtra: String = "", gateways: String = "") -> String {
        gateways + """
        providers:
          openai:
            base_url: \(fake.openAIBaseURL)
            keys: { default: \(keys["openai"]!) }
          anthropic:
            base_url: \(fake.baseURL)
            keys: { default: \(keys["anthropic"]!) }
          google-ai-studio:
            base_url: \(fake.baseURL)
            keys: { default: \(keys["google-ai-studio"]!) }
          workers-ai:
            base_url: \(fake.baseURL)/client/v4/accounts/acct/ai
            keys: { default: \(keys["workers-ai"]!) }
          azure-openai:
            base_url: \(fake.baseURL)/openai
            keys: { default: \(keys["azure-openai"]!) }\(azureExtra)
        """
    }

    /// Runs `body` against a gateway in front of a fresh fake; the fake is always shut down.
    static func run(
        fake configuration: FakeUpstreamConfiguration = FakeUpstreamConfiguration(clock: clock),
        azureExtra: String = "",
        gateways: String = "",
        _ body: @Sendable (any TestClientProtocol, FakeUpstream, RequestLogCapture) async throws -> Void
    ) async throws {
        let fake = try await FakeUpstream.start(configuration)
        let logs = RequestLogCapture()
        do {
            var c = try ConfigurationParser.parse(yaml(fake: fake, azureExtra: azureExtra, gateways: gateways), environment: [:])
            c.listen.port = 0
            let app = buildApplication(configuration: c, environment: [:], logger: logs.logger)
            try await app.test(.router) { client in try await body(client, fake, logs) }
            try await fake.shutdown()
        } catch {
            try? await fake.shutdown()
            throw error
        }
    }
}

extension TestClientProtocol {
    func post(_ uri: String, json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        h[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: h, body: ByteBuffer(string: json))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: JSONValue { (try? JSONValue.parse(Data(body.readableBytesView))) ?? .null }
    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

/// The `data:` payloads of an OpenAI-style SSE body, and whether any other field appeared.
struct SSEPayloads {
    var payloads: [String] = []
    var otherFields: [String] = []

    init(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("data: ") { payloads.append(String(line.dropFirst(6))) } else { otherFields.append(String(line)) }
        }
    }

    var chunks: [JSONValue] { payloads.filter { $0 != "[DONE]" }.compactMap { try? JSONValue.parse($0) } }

    var content: String { chunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined() }

    var finishReasons: [String] { chunks.compactMap { $0["choices"]?[0]?["finish_reason"]?.stringValue } }

    var usage: JSONValue? { chunks.last { $0["usage"]?.objectValue != nil }?["usage"] }

    /// Tool calls assembled the way the OpenAI SDK does: by `index`, id and name from the first
    /// delta, `arguments` concatenated.
    var toolCalls: [(id: String, name: String, arguments: String)] {
        var calls: [Int: (id: String, name: String, arguments: String)] = [:]
        for chunk in chunks {
            for call in chunk["choices"]?[0]?["delta"]?["tool_calls"]?.arrayValue ?? [] {
                let index = Int(call["index"]?.numberValue ?? -1)
                var c = calls[index] ?? ("", "", "")
                if let id = call["id"]?.stringValue { c.id = id }
                if let name = call["function"]?["name"]?.stringValue { c.name = name }
                c.arguments += call["function"]?["arguments"]?.stringValue ?? ""
                calls[index] = c
            }
        }
        return calls.sorted { $0.key < $1.key }.map(\.value)
    }
}

extension JSONValue {
    subscript(index: Int) -> JSONValue? {
        guard let a = arrayValue, a.indices.contains(index) else { return nil }
        return a[index]
    }
}
