import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import ServiceLifecycle
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import Synchronization
import Testing

@testable import SwitchyardServer

/// Log lines kept in memory.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }

    func logger() -> Logger {
        var logger = Logger(label: "test") { _ in CapturingHandler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    struct CapturingHandler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let all = self.metadata.merging(metadata ?? [:]) { $1 }
            sink.append("\(level) \(message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
    }
}

@Suite struct LifecycleTests {
    @Test func oneLogLinePerRequestWithoutSecrets() async throws {
        let upstream = try await FakeUpstream.start()
        let logs = CapturedLogs()
        var configuration = try ConfigurationParser.parse("""
            gateways:
              default: { tokens: [gw-secret-token] }
            providers:
              openai: { base_url: "\(upstream.openAIBaseURL)", keys: { default: sk-stored-secret } }
              google-ai-studio: { base_url: "\(upstream.baseURL)", keys: { default: AIza-stored-secret } }
            """, environment: [:])
        configuration.listen.port = 0
        let app = buildApplication(configuration: configuration, environment: [:], logger: logs.logger())
        try await app.test(.router) { client in
            let body = ByteBuffer(string: #"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [.authorization: "Bearer gw-secret-token"], body: body) { #expect($0.status == .ok) }
            try await client.execute(uri: "/compat/chat/completions", method: .post, headers: [.authorization: "Bearer sk-client-secret"], body: body) { #expect($0.status == .ok) }
            let gemini = ByteBuffer(string: #"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#)
            try await client.execute(uri: "/google-ai-studio/v1beta/models/gemini-2.5-flash:generateContent?key=AIza-client-secret", method: .post, body: gemini) { #expect($0.status == .ok) }
        }
        try await upstream.shutdown()
        let requestLines = logs.all.filter { $0.contains("status=") }
        #expect(requestLines.count == 3)
        #expect(requestLines[0].contains("POST /compat/chat/completions") && requestLines[0].contains("provider=openai") && requestLines[0].contains("model=gpt-4o"))
        #expect(requestLines[2].contains("key=REDACTED"))
        for line in logs.all {
            for secret in ["gw-secret-token", "sk-stored-secret", "sk-client-secret", "AIza-client-secret", "AIza-stored-secret"] {
                #expect(!line.contains(secret), "\(line)")
            }
        }
        // The client's own key in the query is forwarded, the stored one is not added.
        #expect(upstream.requests().last?.query == "key=AIza-client-secret")
        #expect(upstream.requests().last?.header("x-goog-api-key") == nil)
    }

    @Test(.timeLimit(.minutes(1)))
    func gracefulShutdownLetsInFlightStreamsFinish() async throws {
        let upstream = try await FakeUpstream.start(FakeUpstreamConfiguration(defaults: FakeBehavior(chunkIntervalMs: 300, chunks: 4)))
        var configuration = try ConfigurationParser.parse("""
            providers:
              openai: { base_url: "\(upstream.openAIBaseURL)", keys: { default: sk } }
            """, environment: [:])
        configuration.listen.port = 0
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = buildApplication(configuration: configuration, environment: [:]) { portContinuation.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var portIterator = ports.makeAsyncIterator()
            let port = try #require(await portIterator.next())
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/compat/chat/completions")
            request.method = .POST
            request.body = .bytes(ByteBuffer(string: #"{"model":"openai/x","stream":true,"messages":[{"role":"user","content":"hi"}]}"#))
            let response = try await client.execute(request, timeout: .seconds(30))
            var iterator = response.body.makeAsyncIterator()
            var received = String(buffer: try #require(try await iterator.next()))
            await group.triggerGracefulShutdown()
            while let chunk = try await iterator.next() { received += String(buffer: chunk) }
            #expect(received.hasSuffix("data: [DONE]\n\n"))
            #expect(upstream.counters.completedStreams == 1)
            try await tasks.waitForAll()
        }
        try await client.shutdown()
        try await upstream.shutdown()
    }
}
