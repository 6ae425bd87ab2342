import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SwitchyardCore
import SwitchyardFakeUpstream
import Testing

@testable import SwitchyardServer

/// What the request path does instead of the slow general tools: batched log output, byte-level
/// redaction, single-write buffered answers.
@Suite struct HotPathTests {
    // MARK: Log output

    /// A pipe whose read end collects what the handler wrote.
    final class Pipe: @unchecked Sendable {
        let read: Int32
        let write: Int32

        init() throws {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw POSIXError(.EIO) }
            read = fds[0]
            write = fds[1]
            _ = fcntl(read, F_SETFL, fcntl(read, F_GETFL) | O_NONBLOCK)
            // F_SETPIPE_SZ (Linux): room for more than one 64 KiB batch, so that a write never blocks the test.
            _ = fcntl(write, 1031, 1 << 20)
        }

        /// Everything written so far (non-blocking).
        func drain() -> String {
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = Foundation.read(read, &chunk, chunk.count)
                if n <= 0 { break }
                out += chunk[0..<n]
            }
            return String(decoding: out, as: UTF8.self)
        }

        deinit {
            close(read)
            close(write)
        }
    }

    @Test func infoLinesWaitForAFlushAndWarningsGoOutAtOnce() throws {
        let pipe = try Pipe()
        let output = LogOutput(fileDescriptor: pipe.write)
        var logger = Logger(label: "switchyard") { BufferedLogHandler(label: $0, output: output, metadataProvider: nil) }
        logger.logLevel = .info
        logger.info("GET /healthz", metadata: ["status": "200", "b": "2", "a": "1"])
        #expect(pipe.drain() == "", "an info line is buffered until a flush")
        output.flush()
        let line = pipe.drain()
        // swift-log's StreamLogHandler layout, metadata sorted by key.
        #expect(line.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} info switchyard: a=1 b=2 status=200 \[SwitchyardServerTests\] GET \/healthz\n/) != nil, "\(line)")
        logger.info("first")
        logger.warning("second")
        let both = pipe.drain()
        #expect(both.contains(" info switchyard: [SwitchyardServerTests] first\n"))
        #expect(both.hasSuffix(" warning switchyard: [SwitchyardServerTests] second\n"), "a warning flushes what was before it, in order")
    }

    @Test func theBufferIsWrittenOnceItPassesItsThreshold() throws {
        let pipe = try Pipe()
        let output = LogOutput(fileDescriptor: pipe.write)
        let logger = Logger(label: "t") { BufferedLogHandler(label: $0, output: output, metadataProvider: nil) }
        let message = String(repeating: "x", count: 1000)
        var written = ""
        var lines = 0
        while written.isEmpty, lines < 200 {
            logger.info("\(message)")
            lines += 1
            written = pipe.drain()
        }
        #expect(written.utf8.count >= LogOutput.flushThreshold)
        #expect(lines < 100, "64 KiB of lines are written without waiting for the flush service")
        #expect(written.split(separator: "\n").count == lines)
    }

    @Test func theFlushServiceWritesWhatWasLoggedAndStops() async throws {
        let pipe = try Pipe()
        let output = LogOutput(fileDescriptor: pipe.write)
        let logger = Logger(label: "t") { BufferedLogHandler(label: $0, output: output, metadataProvider: nil) }
        logger.info("queued")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await LogFlushService(output: output, interval: .milliseconds(5)).run() }
            var seen = ""
            for _ in 0..<2000 where !seen.contains("queued") {
                try await Task.sleep(for: .milliseconds(5))
                seen += pipe.drain()
            }
            #expect(seen.contains("queued"))
            logger.info("at the end")
            group.cancelAll()
            try await group.waitForAll()
        }
        #expect(pipe.drain().contains("at the end"), "the service flushes once more when it stops")
    }

    // MARK: Redaction

    @Test func everyOccurrenceOfEverySecretIsReplacedLongestFirst() {
        let redactor = SecretRedactor(["sk-live-12345678", "sk-live-12345678-extended", "short"])
        let text = "a sk-live-12345678-extended b sk-live-12345678 c sk-live-12345678"
        #expect(redactor.redact(text) == "a [REDACTED] b [REDACTED] c [REDACTED]")
        #expect(redactor.redact("short words stay") == "short words stay", "secrets under 8 bytes are never replaced")
        #expect(redactor.redact("ünïcödé sk-live-12345678 ✓") == "ünïcödé [REDACTED] ✓")
        let untouched = ByteBuffer(string: "nothing secret here")
        #expect(redactor.redact(untouched) == untouched)
        #expect(String(buffer: redactor.redact(ByteBuffer(string: "x=sk-live-12345678"))) == "x=[REDACTED]")
        #expect(SecretRedactor([]).redact("sk-live-12345678") == "sk-live-12345678")
    }

    @Test func aRequestsSecretsJoinTheConfiguredOnesLongestFirst() {
        let base = SecretRedactor(["sk-configured-0001"])
        let withRequest = base.adding(["sk-configured-0001", "short", "sk-request-only-000002"])
        #expect(withRequest.secrets == ["sk-request-only-000002", "sk-configured-0001"])
        #expect(withRequest.redact("a sk-request-only-000002 b sk-configured-0001") == "a [REDACTED] b [REDACTED]")
        #expect(base.adding(["sk-configured-0001", "tiny"]).secrets == base.secrets)
    }

    @Test func bodySecretsAreFoundWhateverTheKeysCaseOrEscapes() {
        func secrets(_ json: String) -> [String] { SecretRedactor.bodySecrets(ByteBuffer(string: json)).sorted() }
        #expect(secrets(#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#) == [])
        #expect(secrets(#"{"API_KEY":"abc123456789","nested":{"Token":"tok-987654321"}}"#) == ["abc123456789", "tok-987654321"])
        #expect(secrets(#"{"\u0074oken":"escaped-name-1234"}"#) == ["escaped-name-1234"])
        #expect(secrets(#"{"monkey":"not a key field"}"#) == [])
        #expect(!SecretRedactor.mayNameSecretField(ByteBuffer(string: #"{"model":"gpt","messages":[]}"#)))
        #expect(SecretRedactor.mayNameSecretField(ByteBuffer(string: #"{"PassWord":1}"#)))
    }

    // MARK: Buffered answers

    @Test func passthroughAnswersOfKnownLengthAreSentWholeWithTheirLength() async throws {
        let upstream = try await FakeUpstream.start(.init())
        do {
            var configuration = try ConfigurationParser.parse(
                #"providers: { openai: { base_url: "\#(upstream.openAIBaseURL)", keys: { default: sk-stored-openai-1 } } }"#, environment: [:]
            )
            configuration.listen.port = 0
            let app = buildApplication(configuration: configuration, environment: [:])
            try await app.test(.live) { client in
                let port = try #require(client.port)
                for path in ["/openai/chat/completions", "/compat/chat/completions"] {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                    request.method = .POST
                    let model = path.hasPrefix("/compat") ? "openai/gpt-4o" : "gpt-4o"
                    request.body = .bytes(ByteBuffer(string: #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                    let body = try await response.body.collect(upTo: 1 << 20)
                    #expect(response.status == .ok)
                    #expect(response.headers["content-length"].first == String(body.readableBytes), "\(path)")
                    #expect(response.headers["transfer-encoding"].isEmpty, "\(path)")
                    #expect(try JSONValue.parse(Data(body.readableBytesView))["object"] == .string("chat.completion"))
                }
            }
        } catch {
            try? await upstream.shutdown()
            throw error
        }
        try await upstream.shutdown()
    }
}
