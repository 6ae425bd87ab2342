import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Synchronization
import SwitchyardCore
import SwitchyardProviders
import Testing

@testable import SwitchyardServer

/// SPEC §6 from the other side: an upstream that misbehaves in every way a provider (or whatever
/// answers in its place) can. A Hummingbird router on port 0 speaks OpenAI's, Anthropic's and
/// Gemini's routes and answers with negative usage (-5), huge usage (1e30, Int64.max: beyond 2^53,
/// read as absent), usage over the cap (1e13: clamped), non-integer usage (12.5, "12", null),
/// truncated JSON, a 10 MB body, an endless event stream, invalid UTF-8 inside JSON strings, an
/// HTML page with 200, or an empty 200; the model named in the request picks the misbehaviour. The
/// gateway's compat endpoint and its passthrough are driven against each, streamed and not.
///
/// Properties: every request is answered with a clear gateway error (502, code 2005, a message)
/// or with the forwarded (or translated) answer, passthrough byte for byte; an endless stream is
/// bounded (a non-stream request fails with a 502 naming the 64 MiB cap, a stream is forwarded
/// until the client closes it) and the upstream stream is let go either way; every request has
/// exactly one request-log record, with token counts in 0...Usage.maxTokens; afterwards `/healthz`
/// answers 200 and `/metrics` parses with no negative or non-finite sample.
@Suite struct HostileUpstreamTests {
    /// Runs in scripts/test.sh's serial heavy phase (SWITCHYARD_HEAVY_TESTS=1): 10 MB bodies and
    /// endless streams beside the other suites would starve their wall-clock bounds.
    @Test(.enabled(if: heavyTests)) func compatAndPassthroughSurviveEveryMisbehaviour() async throws {
        try await HostileUpstream.withGateway { gateway in
            var probes: [HostileProbe] = []
            for behavior in Misbehavior.allCases {
                for family in UpstreamFamily.allCases {
                    for endpoint in [HostileProbe.Endpoint.compat, .passthrough] {
                        for stream in [false, true] { probes.append(HostileProbe(behavior: behavior, family: family, endpoint: endpoint, stream: stream)) }
                    }
                }
            }
            let started = ContinuousClock.now
            var logIDs: [String] = []
            // Statuses by endpoint and mode, then misbehaviour (three provider formats each).
            var statuses: [String: [String: [Int: Int]]] = [:]
            var histogram: [Int: Int] = [:]
            for probe in probes {
                let (logID, status) = try await gateway.run(probe)
                logIDs.append(logID)
                histogram[status, default: 0] += 1
                statuses["\(probe.endpoint.rawValue)\(probe.stream ? " stream" : "")", default: [:]][probe.behavior.rawValue, default: [:]][status, default: 0] += 1
            }
            print("HostileUpstreamTests: \(probes.count) requests in \(ContinuousClock.now - started)")
            print("HostileUpstreamTests: status histogram \(histogram.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))")
            for (mode, byBehavior) in statuses.sorted(by: { $0.key < $1.key }) {
                let text = byBehavior.sorted { $0.key < $1.key }.map { behavior, counts in
                    "\(behavior) " + counts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
                }
                print("HostileUpstreamTests:   \(mode): \(text.joined(separator: ", "))")
            }
            // One record per request, each with clamped token counts.
            let records = try await gateway.log.waitForRecords(logIDs, timeout: .seconds(20))
            #expect(records.count == probes.count, "records for \(records.count) of \(probes.count) requests")
            for (probe, id) in zip(probes, logIDs) {
                let matching = gateway.log.all.filter { $0.id == id }
                #expect(matching.count == 1, "\(probe): \(matching.count) records")
                guard let record = matching.first else { continue }
                for tokens in [record.tokensIn, record.tokensOut, record.cachedTokensIn, record.reasoningTokens] {
                    #expect((0...Usage.maxTokens).contains(tokens), "\(probe): token count \(tokens)")
                }
                #expect(record.cost.isFinite && record.cost >= 0, "\(probe): cost \(record.cost)")
                switch probe.behavior {
                case .negativeUsage, .fractionalUsage:
                    #expect(record.tokensIn <= 12 && record.tokensOut <= 12, "\(probe): \(record.tokensIn)/\(record.tokensOut)")
                case .hugeUsage:
                    // Anthropic's stream opens with `output_tokens: 1`; the huge final count is not taken.
                    #expect(record.tokensIn == 0 && record.tokensOut <= 1, "\(probe): counts beyond 2^53 recorded as \(record.tokensIn)/\(record.tokensOut)")
                case .largeUsage:
                    #expect(record.tokensIn == Usage.maxTokens && record.tokensOut == Usage.maxTokens, "\(probe): large usage recorded as \(record.tokensIn)/\(record.tokensOut)")
                default:
                    break
                }
            }
            #expect(gateway.log.all.count == probes.count, "\(gateway.log.all.count) records for \(probes.count) requests")

            // The process is up, its metrics are sane.
            let health = try await gateway.client.execute(HTTPClientRequest(url: gateway.url + "/healthz"), timeout: .seconds(10))
            #expect(health.status == .ok)
            let scrape = try await gateway.client.execute(HTTPClientRequest(url: gateway.url + "/metrics"), timeout: .seconds(10))
            #expect(scrape.status == .ok)
            let metrics = try PrometheusText(String(buffer: try await scrape.body.collect(upTo: 16 << 20)))
            let bad = metrics.samples.filter { !$0.value.isFinite || $0.value < 0 }
            #expect(bad.isEmpty, "negative or non-finite samples: \(bad.prefix(5).map { "\($0.name)\($0.labels)=\($0.value)" })")
            #expect(metrics.sum("switchyard_tokens_total") > 0)
            #expect(metrics.samples.filter { $0.name == "switchyard_tokens_total" }.allSatisfy { $0.value <= Double(probes.count) * Double(Usage.maxTokens) })
            #expect(gateway.upstream.endlessStarted == gateway.upstream.endlessEnded, "every endless upstream stream was cancelled")
        }
    }

    /// The checks must be able to fail: what the gateway would answer if it forwarded a hostile
    /// answer it should have refused, or refused one it should have forwarded.
    @Test func theExpectationsRejectWrongAnswers() {
        let envelope = ByteBuffer(string: #"{"error":[{"code":2005,"message":"no response from provider 'openai': malformed response body"}],"httpCode":502,"internalCode":2005,"message":"no response from provider 'openai': malformed response body","name":"AiGatewayError","success":false}"#)
        let truncated = HostileProbe(behavior: .truncated, family: .openAI, endpoint: .compat, stream: false)
        #expect(truncated.verdict(status: 502, body: envelope) == nil)
        #expect(truncated.verdict(status: 200, body: ByteBuffer(string: #"{"id":"x","#)) != nil)
        #expect(truncated.verdict(status: 500, body: envelope) != nil)
        #expect(truncated.verdict(status: 502, body: ByteBuffer(string: "Bad Gateway")) != nil)
        // The cap on an endless answer is named, not a library's error.
        let endless = HostileProbe(behavior: .endless, family: .gemini, endpoint: .compat, stream: false)
        #expect(endless.verdict(status: 502, body: envelope) != nil)
        let capped = String(buffer: envelope).replacingOccurrences(of: "malformed response body", with: "the response body is larger than the limit of 67108864 bytes")
        #expect(endless.verdict(status: 502, body: ByteBuffer(string: capped)) == nil)
        let passthrough = HostileProbe(behavior: .html, family: .anthropic, endpoint: .passthrough, stream: false)
        let html = ByteBuffer(bytes: passthrough.upstreamAnswer.bytes)
        #expect(passthrough.verdict(status: 200, body: html) == nil)
        #expect(passthrough.verdict(status: 502, body: envelope) != nil)
        var altered = html
        altered.writeString(" ")
        #expect(passthrough.verdict(status: 200, body: altered) != nil)
    }
}

// MARK: - The misbehaving upstream

enum Misbehavior: String, CaseIterable, Sendable {
    case negativeUsage = "negative-usage"
    /// Counts beyond 2^53 (no longer exact as a double): read as absent.
    case hugeUsage = "huge-usage"
    /// Exact counts beyond `Usage.maxTokens`: clamped to it.
    case largeUsage = "large-usage"
    case fractionalUsage = "fractional-usage"
    case truncated
    case tenMegabytes = "ten-megabytes"
    case endless
    case invalidUTF8 = "invalid-utf8"
    case html
    case empty

    /// prompt, completion, total: as JSON text.
    var usage: (String, String, String) {
        switch self {
        case .negativeUsage: ("-5", "-7", "-12")
        case .hugeUsage: ("1e30", "9223372036854775807", "1e30")
        case .largeUsage: ("10000000000000", "2e12", "1.2e13")
        case .fractionalUsage: ("12.5", "\"12\"", "null")
        default: ("3", "2", "5")
        }
    }
}

enum UpstreamFamily: String, CaseIterable, Sendable { case openAI, anthropic, gemini }

/// What the upstream sends for one request.
struct UpstreamAnswer: Sendable {
    var contentType: String
    var bytes: [UInt8]
    /// Sent in pieces, as events (for `text/event-stream`).
    var events: [[UInt8]] = []
    var endless = false
}

enum UpstreamShapes {
    static let badBytes: [UInt8] = [0xFF, 0xFE, 0x20, 0xC0, 0x80, 0x20, 0xED, 0xA0, 0x80, 0x20, 0xE2, 0x82]

    static func text(_ behavior: Misbehavior) -> [UInt8] {
        switch behavior {
        case .tenMegabytes: Array(repeating: UInt8(ascii: "a"), count: 10 << 20)
        case .invalidUTF8: Array("ok ".utf8) + badBytes
        default: Array("ok".utf8)
        }
    }

    static func json(_ family: UpstreamFamily, model: String, _ behavior: Misbehavior) -> [UInt8] {
        let (p, c, t) = behavior.usage
        let text = text(behavior)
        switch family {
        case .openAI:
            return Array(#"{"id":"chatcmpl-h","object":"chat.completion","created":1700000000,"model":"\#(model)","choices":[{"index":0,"message":{"role":"assistant","content":""#.utf8)
                + text + Array(#""},"finish_reason":"stop"}],"usage":{"prompt_tokens":\#(p),"completion_tokens":\#(c),"total_tokens":\#(t)}}"#.utf8)
        case .anthropic:
            return Array(#"{"id":"msg_h","type":"message","role":"assistant","model":"\#(model)","content":[{"type":"text","text":""#.utf8)
                + text + Array(#""}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":\#(p),"output_tokens":\#(c)}}"#.utf8)
        case .gemini:
            return Array(#"{"candidates":[{"content":{"role":"model","parts":[{"text":""#.utf8) + text
                + Array(#""}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":\#(p),"candidatesTokenCount":\#(c),"totalTokenCount":\#(t)},"modelVersion":"\#(model)"}"#.utf8)
        }
    }

    static func event(_ family: UpstreamFamily, name: String? = nil, _ data: [UInt8]) -> [UInt8] {
        let end = family == .gemini ? "\r\n\r\n" : "\n\n"
        return Array((name.map { "event: \($0)\n" } ?? "").utf8) + Array("data: ".utf8) + data + Array(end.utf8)
    }

    /// A finite stream in the provider's format.
    static func events(_ family: UpstreamFamily, model: String, _ behavior: Misbehavior) -> [[UInt8]] {
        let (p, c, t) = behavior.usage
        let text = text(behavior)
        switch family {
        case .openAI:
            let head = #"{"id":"chatcmpl-h","object":"chat.completion.chunk","created":1700000000,"model":"\#(model)","choices":["#
            return [
                event(family, Array((head + #"{"index":0,"delta":{"role":"assistant","content":""#).utf8) + text + Array(#""},"finish_reason":null}]}"#.utf8)),
                event(family, Array((head + #"{"index":0,"delta":{},"finish_reason":"stop"}]}"#).utf8)),
                event(family, Array((head + #"],"usage":{"prompt_tokens":\#(p),"completion_tokens":\#(c),"total_tokens":\#(t)}}"#).utf8)),
                event(family, Array("[DONE]".utf8)),
            ]
        case .anthropic:
            return [
                event(family, name: "message_start", Array(#"{"type":"message_start","message":{"id":"msg_h","type":"message","role":"assistant","model":"\#(model)","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":\#(p),"output_tokens":1}}}"#.utf8)),
                event(family, name: "content_block_start", Array(#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.utf8)),
                event(family, name: "content_block_delta", Array(#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""#.utf8) + text + Array(#""}}"#.utf8)),
                event(family, name: "content_block_stop", Array(#"{"type":"content_block_stop","index":0}"#.utf8)),
                event(family, name: "message_delta", Array(#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":\#(c)}}"#.utf8)),
                event(family, name: "message_stop", Array(#"{"type":"message_stop"}"#.utf8)),
            ]
        case .gemini:
            return [event(family, json(.gemini, model: model, behavior))]
        }
    }

    /// The stream's opening events, then one event repeated for ever.
    static func endless(_ family: UpstreamFamily, model: String) -> (prelude: [UInt8], repeated: [UInt8]) {
        let content = String(repeating: "x", count: 1000)
        switch family {
        case .openAI:
            return ([], event(family, Array(#"{"id":"chatcmpl-h","object":"chat.completion.chunk","created":1700000000,"model":"\#(model)","choices":[{"index":0,"delta":{"content":"\#(content)"},"finish_reason":null}]}"#.utf8)))
        case .anthropic:
            let start = events(.anthropic, model: model, .endless).prefix(2).flatMap { $0 }
            return (start, event(family, name: "content_block_delta", Array(#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\#(content)"}}"#.utf8)))
        case .gemini:
            return ([], event(family, Array(#"{"candidates":[{"content":{"role":"model","parts":[{"text":"\#(content)"}]},"index":0}],"modelVersion":"\#(model)"}"#.utf8)))
        }
    }

    static func answer(_ family: UpstreamFamily, model: String, _ behavior: Misbehavior, stream: Bool) -> UpstreamAnswer {
        switch behavior {
        case .endless:
            return UpstreamAnswer(contentType: "text/event-stream", bytes: [], endless: true)
        case .html:
            return UpstreamAnswer(contentType: "text/html; charset=utf-8", bytes: Array("<html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>".utf8))
        case .empty:
            return UpstreamAnswer(contentType: "application/json", bytes: [])
        case .truncated:
            if stream {
                let events = events(family, model: model, .truncated)
                let cut = events[events.count / 2]
                let truncated = Array(events[..<(events.count / 2)]) + [Array(cut.prefix(cut.count / 2))]
                return UpstreamAnswer(contentType: "text/event-stream", bytes: truncated.flatMap { $0 }, events: truncated)
            }
            let whole = json(family, model: model, .truncated)
            return UpstreamAnswer(contentType: "application/json", bytes: Array(whole.prefix(whole.count / 2)))
        case .tenMegabytes:
            return UpstreamAnswer(contentType: "application/json", bytes: json(family, model: model, behavior))
        case .negativeUsage, .hugeUsage, .largeUsage, .fractionalUsage, .invalidUTF8:
            if stream {
                let events = events(family, model: model, behavior)
                return UpstreamAnswer(contentType: "text/event-stream", bytes: events.flatMap { $0 }, events: events)
            }
            return UpstreamAnswer(contentType: "application/json", bytes: json(family, model: model, behavior))
        }
    }
}

/// The upstream server: a Hummingbird router on port 0 answering every provider's route.
final class HostileUpstream: Sendable {
    /// Endless streams started, and ended (the gateway let go of them: the write failed).
    let started = EventCounter()
    let ended = EventCounter()

    var endlessStarted: Int { started.value }
    var endlessEnded: Int { ended.value }

    /// Which misbehaviour, provider format and mode a request asks for: the model names the
    /// misbehaviour (in the body, or in the path for Gemini).
    static func classify(path: String, body: ByteBuffer) -> (UpstreamFamily, String, Bool) {
        if let range = path.range(of: "/models/") {
            let tail = path[range.upperBound...]
            let model = String(tail[..<(tail.firstIndex(of: ":") ?? tail.endIndex)])
            return (.gemini, model, path.contains(":streamGenerateContent"))
        }
        let json = try? JSONValue.parse(bytes: body.readableBytesView)
        let model = json?["model"]?.stringValue ?? ""
        return (path.hasSuffix("/messages") ? .anthropic : .openAI, model, json?["stream"] == .bool(true))
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("**") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let (family, model, stream) = Self.classify(path: request.uri.path, body: body)
            guard let behavior = Misbehavior(rawValue: model) else {
                return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "unknown model \(model)")))
            }
            let answer = UpstreamShapes.answer(family, model: model, behavior, stream: stream)
            let headers: HTTPFields = [.contentType: answer.contentType]
            if answer.endless {
                let (prelude, repeated) = UpstreamShapes.endless(family, model: model)
                // Sixteen events per write: the gateway's 64 MB cap is reached in a few thousand writes.
                var sixteen = ByteBuffer()
                for _ in 0..<16 { sixteen.writeBytes(repeated) }
                let chunk = sixteen
                return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                    self.started.increment()
                    defer { self.ended.increment() }
                    if !prelude.isEmpty { try await writer.write(ByteBuffer(bytes: prelude)) }
                    while true { try await writer.write(chunk) }
                })
            }
            if !answer.events.isEmpty {
                let events = answer.events
                return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                    for event in events { try await writer.write(ByteBuffer(bytes: event)) }
                    try await writer.finish(nil)
                })
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.bytes)))
        }
        return router
    }

    struct Gateway: Sendable {
        let url: String
        let port: Int
        let client: HTTPClient
        let log: MemoryRequestLog
        let upstream: HostileUpstream

        /// Sends the probe, checks the answer, and returns the request's log id and status.
        func run(_ probe: HostileProbe) async throws -> (String, Int) {
            if probe.closesStream { return try await runAndClose(probe) }
            var request = HTTPClientRequest(url: url + probe.path)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: probe.body))
            let endedBefore = upstream.endlessEnded
            let response = try await client.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 80 << 20)
            let status = Int(response.status.code)
            if let problem = probe.verdict(status: status, body: body) {
                Issue.record("\(probe): \(problem); answer \(status) \(String(buffer: body.getSlice(at: body.readerIndex, length: min(400, body.readableBytes)) ?? body).debugDescription)")
            }
            if probe.behavior == .endless {
                // The upstream's endless stream is let go once the cap is passed.
                let released = await upstream.ended.wait(atLeast: endedBefore + 1, timeout: .seconds(20))
                #expect(released, "\(probe): the upstream's endless stream was still being read 20 s after the answer")
            }
            return (try #require(response.headers.first(name: "cf-aig-log-id"), "\(probe): no cf-aig-log-id"), status)
        }

        /// A stream that never ends: read its head and some events, then close the connection.
        func runAndClose(_ probe: HostileProbe) async throws -> (String, Int) {
            let endedBefore = upstream.endlessEnded
            let connection = try await RawConnection.open(port: port, receiveTimeout: 20)
            await connection.send("POST \(probe.path) HTTP/1.1\r\nHost: gw\r\ncontent-type: application/json\r\ncontent-length: \(probe.body.utf8.count)\r\n\r\n\(probe.body)")
            let read = await connection.receive { $0.count > 64 << 10 }
            await connection.close()
            #expect(read.end == nil, "\(probe): the stream ended or stalled after \(read.bytes.count) bytes: \(String(decoding: read.bytes.prefix(300), as: UTF8.self))")
            let head = String(decoding: read.bytes.prefix(4096), as: UTF8.self)
            #expect(head.hasPrefix("HTTP/1.1 200"), "\(probe): \(head.prefix(300))")
            #expect(head.lowercased().contains("content-type: text/event-stream"), "\(probe): \(head.prefix(300))")
            // Closing the client's connection cancels the upstream stream: an event, awaited.
            let released = await upstream.ended.wait(atLeast: endedBefore + 1, timeout: .seconds(20))
            #expect(released, "\(probe): the upstream's endless stream was still being read 20 s after the client closed")
            let line = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("cf-aig-log-id:") }
            let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
            return (try #require(line.map { String($0.dropFirst("cf-aig-log-id:".count)).trimmingCharacters(in: .whitespaces) }, "\(probe): no cf-aig-log-id"), status)
        }
    }

    /// Runs `body` against a gateway (compat and passthrough) in front of the misbehaving upstream.
    static func withGateway(_ body: @Sendable (Gateway) async throws -> Void) async throws {
        let upstream = HostileUpstream()
        let server = Application(router: upstream.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await server.test(.live) { upstreamClient in
            let port = try #require(upstreamClient.port)
            var configuration = try ConfigurationParser.parse("""
                logs: { flush_interval: 50ms }
                providers:
                  openai: { base_url: "http://127.0.0.1:\(port)/v1", keys: { default: sk-hostile-openai-0001 } }
                  anthropic: { base_url: "http://127.0.0.1:\(port)", keys: { default: sk-hostile-anthropic-0001 } }
                  google-ai-studio: { base_url: "http://127.0.0.1:\(port)", keys: { default: hostile-gemini-key-0001 } }
                """, environment: [:])
            configuration.listen.port = 0
            var logger = Logger(label: "hostile-upstream")
            logger.logLevel = .warning
            let log = MemoryRequestLog()
            let app = buildApplication(configuration: configuration, environment: [:], logger: logger, requestLog: log, metrics: PrometheusCollectorRegistry())
            try await app.test(.live) { client in
                let gatewayPort = try #require(client.port)
                let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
                do {
                    try await body(Gateway(url: "http://127.0.0.1:\(gatewayPort)", port: gatewayPort, client: http, log: log, upstream: upstream))
                } catch {
                    try? await http.shutdown()
                    throw error
                }
                try await http.shutdown()
            }
        }
    }
}

// MARK: - Probes

/// One request of the matrix: a misbehaviour, a provider format, an endpoint, streamed or not.
struct HostileProbe: Sendable, CustomStringConvertible {
    enum Endpoint: String, Sendable { case compat, passthrough }

    let behavior: Misbehavior
    let family: UpstreamFamily
    let endpoint: Endpoint
    let stream: Bool

    var description: String { "\(endpoint.rawValue) \(family.rawValue) \(behavior.rawValue)\(stream ? " stream" : "")" }

    /// The answer is an event stream that never ends, which the client closes.
    var closesStream: Bool { behavior == .endless && (stream || endpoint == .passthrough) }

    var path: String {
        switch (endpoint, family) {
        case (.compat, _): "/compat/chat/completions"
        case (.passthrough, .openAI): "/openai/v1/chat/completions"
        case (.passthrough, .anthropic): "/anthropic/v1/messages"
        case (.passthrough, .gemini):
            stream ? "/google-ai-studio/v1beta/models/\(behavior.rawValue):streamGenerateContent?alt=sse" : "/google-ai-studio/v1beta/models/\(behavior.rawValue):generateContent"
        }
    }

    var body: String {
        let messages = #""messages":[{"role":"user","content":"hi"}]"#
        switch (endpoint, family) {
        case (.compat, _):
            let prefix = switch family { case .openAI: "openai"; case .anthropic: "anthropic"; case .gemini: "google-ai-studio" }
            return #"{"model":"\#(prefix)/\#(behavior.rawValue)",\#(messages),"stream":\#(stream)}"#
        case (.passthrough, .openAI): return #"{"model":"\#(behavior.rawValue)",\#(messages),"stream":\#(stream)}"#
        case (.passthrough, .anthropic): return #"{"model":"\#(behavior.rawValue)","max_tokens":16,\#(messages),"stream":\#(stream)}"#
        case (.passthrough, .gemini): return #"{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}"#
        }
    }

    /// What the upstream sends for this probe.
    var upstreamAnswer: UpstreamAnswer { UpstreamShapes.answer(family, model: behavior.rawValue, behavior, stream: stream) }

    enum Expectation { case answered, gatewayError, answeredOrGatewayError, exactBytes }

    var expectation: Expectation {
        switch (endpoint, behavior) {
        case (.passthrough, _): .exactBytes
        case (.compat, .negativeUsage), (.compat, .hugeUsage), (.compat, .largeUsage), (.compat, .fractionalUsage), (.compat, .tenMegabytes): .answered
        case (.compat, .truncated): stream ? .answeredOrGatewayError : .gatewayError
        case (.compat, .invalidUTF8): .answeredOrGatewayError
        case (.compat, .endless), (.compat, .html), (.compat, .empty): .gatewayError
        }
    }

    /// Nil when the answer is what the property allows, else what is wrong.
    func verdict(status: Int, body: ByteBuffer) -> String? {
        func gatewayError() -> String? {
            guard status == 502 else { return "status \(status), expected the gateway's 502" }
            guard let json = try? JSONValue.parse(bytes: body.readableBytesView), json["success"] == .bool(false), json["internalCode"] == .number(2005),
                  json["httpCode"] == .number(502), let message = json["message"]?.stringValue, message.contains("provider")
            else { return "a 502 without the 2005 envelope and a message" }
            if behavior == .endless, !message.contains("larger than the limit") { return "the 502 does not say the answer passed the size limit: \(message)" }
            return nil
        }
        func answered() -> String? {
            guard status == 200 else { return "status \(status), expected 200" }
            let text = String(buffer: body)
            if stream, text.hasPrefix("data: ") {
                // Chunks, or (the head being sent) the gateway's error event in OpenAI's shape.
                let events = SSEPayloads(text).chunks
                guard events.contains(where: { $0["choices"] != nil || $0["error"]?["message"]?.stringValue != nil }) else { return "a stream with neither chunks nor an error event" }
                return nil
            }
            // Forwarded unchanged (OpenAI to OpenAI), bytes that are not UTF-8 included.
            if family == .openAI, !stream, Array(body.readableBytesView) == upstreamAnswer.bytes { return nil }
            guard let json = try? JSONValue.parse(bytes: body.readableBytesView), json["choices"]?.arrayValue?.isEmpty == false else {
                return "a 200 that is not a chat completion"
            }
            if behavior == .tenMegabytes, body.readableBytes < 10 << 20 { return "the 10 MB answer came back as \(body.readableBytes) bytes" }
            return nil
        }
        switch expectation {
        case .gatewayError: return gatewayError()
        case .answered: return answered()
        case .answeredOrGatewayError: return status == 502 ? gatewayError() : answered()
        case .exactBytes:
            guard status == 200 else { return "status \(status), expected the upstream's 200" }
            guard Array(body.readableBytesView) == upstreamAnswer.bytes else {
                return "forwarded \(body.readableBytes) bytes, not the upstream's \(upstreamAnswer.bytes.count) bytes unchanged"
            }
            return nil
        }
    }
}

/// A count that tests wait on: `wait(atLeast:timeout:)` returns when it reaches a value (no polling).
final class EventCounter: Sendable {
    private struct State {
        var value = 0
        var nextID = 0
        var waiters: [Int: (Int, CheckedContinuation<Void, Never>)] = [:]
        /// Waits that timed out before their waiter was registered.
        var abandoned: Set<Int> = []
    }
    private let state = Mutex(State())

    var value: Int { state.withLock { $0.value } }

    func increment() {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.value += 1
            let due = s.waiters.filter { $0.value.0 <= s.value }
            for id in due.keys { s.waiters[id] = nil }
            return due.values.map(\.1)
        }
        for continuation in ready { continuation.resume() }
    }

    /// True once the count is at least `target`; false if `timeout` passes first.
    func wait(atLeast target: Int, timeout: Duration) async -> Bool {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let reached = self.state.withLock { s -> Bool in
                        if s.value >= target || s.abandoned.remove(id) != nil { return true }
                        s.waiters[id] = (target, continuation)
                        return false
                    }
                    if reached { continuation.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            // When the timeout won, the waiter is resumed (or told not to wait) so that the group can end.
            let waiter = self.state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let waiter = s.waiters.removeValue(forKey: id) { return waiter.1 }
                if !first, s.value < target { s.abandoned.insert(id) }
                return nil
            }
            waiter?.resume()
            return first
        }
    }
}

// MARK: - An in-memory request log

/// A `RequestLogStore` in memory, with a wait for records by id (on inserts, not by polling).
final class MemoryRequestLog: RequestLogStore, Sendable {
    private let records = Mutex<[RequestLogRecord]>([])
    private let inserted = EventCounter()

    var all: [RequestLogRecord] { records.withLock { $0 } }

    func insert(_ batch: [RequestLogRecord]) async throws {
        records.withLock { $0 += batch }
        for _ in batch { inserted.increment() }
    }

    /// The records of `ids`, once all have been written (or what is there after `timeout`).
    func waitForRecords(_ ids: [String], timeout: Duration) async throws -> [RequestLogRecord] {
        let wanted = Set(ids)
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = inserted.value
            let found = all.filter { wanted.contains($0.id) }
            if Set(found.map(\.id)) == wanted || ContinuousClock.now >= deadline { return found }
            // The next insert, awaited.
            _ = await inserted.wait(atLeast: seen + 1, timeout: deadline - ContinuousClock.now)
        }
    }

    func query(_ query: RequestLogQuery) async throws -> (records: [RequestLogRecord], total: Int) {
        let records = all
        return (Array(records.prefix(query.perPage)), records.count)
    }

    func record(id: String) async throws -> RequestLogRecord? { all.first { $0.id == id } }
    func patch(id: String, _ patch: RequestLogPatch) async throws -> RequestLogRecord? { nil }
    func prune(maxRows: Int?, maxAge: Double?, now: Double) async throws -> Int { 0 }
}
