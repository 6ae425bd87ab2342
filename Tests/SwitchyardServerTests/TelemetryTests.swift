import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import ServiceLifecycle
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardProviders
import Synchronization
import Testing

@testable import SwitchyardServer

/// An OTLP/HTTP collector in the test process: keeps every span of every export it receives
/// (JSON encoding), and answers as a collector does.
final class OTLPReceiver: Sendable {
    struct Span: Sendable {
        var name: String
        var traceID: String
        var spanID: String
        var parentSpanID: String
        var kind: Int
        var statusCode: Int
        var attributes: [String: String]
        var start: UInt64

        func int(_ key: String) -> Int? { attributes[key].flatMap { Int($0) } }
    }

    private let state = Mutex<(spans: [Span], headers: [[String: String]])>(([], []))
    /// The number of spans received, after each export.
    private let counts = AsyncStream<Int>.makeStream(bufferingPolicy: .bufferingNewest(1))
    private let server = Mutex<(port: Int, task: Task<Void, any Error>?)>((0, nil))

    private init() {}

    var port: Int { server.withLock { $0.port } }
    var endpoint: String { "http://127.0.0.1:\(port)/v1/traces" }
    var spans: [Span] { state.withLock { $0.spans } }
    var requestHeaders: [[String: String]] { state.withLock { $0.headers } }

    /// A receiver on a port the system chose, stopped when `body` returns.
    static func with(_ body: (OTLPReceiver) async throws -> Void) async throws {
        let receiver = OTLPReceiver()
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            receiver.received(body, headers: headers)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{}")))
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }
        )
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        receiver.server.withLock { $0 = (port, task) }
        do {
            try await body(receiver)
        } catch {
            task.cancel()
            _ = try? await task.value
            throw error
        }
        task.cancel()
        _ = try? await task.value
    }

    private func received(_ body: ByteBuffer, headers: [String: String]) {
        let spans = Self.decode(body)
        let count = state.withLock { s in
            s.spans += spans
            s.headers.append(headers)
            return s.spans.count
        }
        counts.continuation.yield(count)
    }

    /// True once `count` spans have arrived; false after `timeout` (a guard, never the expected path).
    func waitForSpans(_ count: Int, timeout: Duration = .seconds(30)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            let stream = counts.stream
            group.addTask { [self] in
                if spans.count >= count { return true }
                for await n in stream where n >= count { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// OTLP's JSON encoding of `ExportTraceServiceRequest` (ids as protobuf-JSON base64, shown here as hex).
    static func decode(_ body: ByteBuffer) -> [Span] {
        guard let root = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else { return [] }
        var out: [Span] = []
        for resource in root["resourceSpans"] as? [[String: Any]] ?? [] {
            for scope in resource["scopeSpans"] as? [[String: Any]] ?? [] {
                for span in scope["spans"] as? [[String: Any]] ?? [] {
                    var attributes: [String: String] = [:]
                    for a in span["attributes"] as? [[String: Any]] ?? [] {
                        guard let key = a["key"] as? String, let value = a["value"] as? [String: Any], let first = value.first else { continue }
                        // intValue is a string (int64 in protobuf JSON); boolValue a JSON bool.
                        attributes[key] = first.key == "boolValue" ? ((first.value as? Bool) == true ? "true" : "false") : "\(first.value)"
                    }
                    let status = span["status"] as? [String: Any]
                    out.append(Span(
                        name: span["name"] as? String ?? "", traceID: hex(span["traceId"]), spanID: hex(span["spanId"]),
                        parentSpanID: hex(span["parentSpanId"]), kind: span["kind"] as? Int ?? 0, statusCode: status?["code"] as? Int ?? 0,
                        attributes: attributes, start: UInt64(span["startTimeUnixNano"] as? String ?? "") ?? 0
                    ))
                }
            }
        }
        return out
    }

    static func hex(_ value: Any?) -> String {
        guard let text = value as? String, !text.isEmpty else { return "" }
        // swift-otel writes bytes fields as protobuf JSON does (base64); the OTLP spec's hex is accepted too.
        if text.count == 32 || text.count == 16, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
        guard let data = Data(base64Encoded: text) else { return text }
        return data.map { String(format: "%02x", $0) }.joined()
    }
}

@Suite struct TelemetryTests {
    static let routes = [
        "support.yaml": """
            nodes:
              primary:
                model: openai/m-primary
                retries: 2
                backoff: { delay: 1ms, mode: constant }
                fallback: secondary
              secondary:
                model: openai/m-secondary
            """,
    ]

    static func telemetryYAML(_ receiver: OTLPReceiver, extra: String = "") -> String {
        """
        telemetry:
          otlp: { endpoint: "\(receiver.endpoint)", encoding: json, headers: { x-collector-token: tok-123 } }
          schedule_delay: 10ms
          \(extra)
        """
    }

    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let callerSpan = "00f067aa0ba902b7"

    @Test func retryAndFallbackMakeASpanTreeWithGenAIAttributes() async throws {
        try await OTLPReceiver.with { receiver in
            let fake = FakeUpstreamConfiguration(perModel: ["m-primary": FakeBehavior(failFirst: 3, failStatus: 503)])
            try await RouteFixture.run(routes: Self.routes, extraYAML: Self.telemetryYAML(receiver), fake: fake, retrySleep: { _ in }) { f, client in
                let r = try await client.post("/compat/chat/completions", json: chat("dynamic/support"), headers: headers([
                    ("traceparent", "00-\(Self.traceID)-\(Self.callerSpan)-01"), ("cf-aig-cache-ttl", "60"),
                ]))
                #expect(r.status == .ok)
                #expect(r.header("cf-aig-model") == "m-secondary")
                // 1 request + 1 cache lookup + 2 route evaluations + 3 tries of m-primary + 1 of m-secondary.
                #expect(await receiver.waitForSpans(8))
                let spans = receiver.spans
                #expect(spans.count == 8)
                #expect(Set(spans.map(\.traceID)) == [Self.traceID], "every span is in the caller's trace")

                let request = try #require(spans.first { $0.name == "switchyard.request" })
                #expect(request.parentSpanID == Self.callerSpan)
                #expect(request.kind == 2, "server")
                let a = request.attributes
                #expect(a["gen_ai.operation.name"] == "chat")
                #expect(a["gen_ai.provider.name"] == "openai")
                #expect(a["gen_ai.request.model"] == "dynamic/support")
                #expect(a["gen_ai.response.model"] == "m-secondary")
                #expect(request.int("gen_ai.usage.input_tokens").map { $0 > 0 } == true, "\(a)")
                #expect(request.int("gen_ai.usage.output_tokens").map { $0 > 0 } == true)
                #expect(a["switchyard.route"] == "support")
                #expect(a["switchyard.route.version"] == (try f.table.current.graph(named: "support").version))
                #expect(a["switchyard.path"] == "primary>secondary")
                #expect(a["switchyard.step"] == "1")
                #expect(a["switchyard.cache"] == "MISS")
                #expect(a["switchyard.cost_usd"] != nil)
                #expect(a["http.response.status_code"] == "200")
                #expect(a["switchyard.request.body"] == nil, "content is off by default")

                let children = spans.filter { $0.parentSpanID == request.spanID }
                #expect(children.count == 7)
                let cache = try #require(children.first { $0.name == "switchyard.cache" })
                #expect(cache.attributes["switchyard.cache"] == "MISS")
                let routes = children.filter { $0.name == "switchyard.route" }.sorted { $0.start < $1.start }
                #expect(routes.map { $0.attributes["gen_ai.request.model"] } == ["m-primary", "m-secondary"])
                #expect(routes.map { $0.attributes["switchyard.fallback"] } == ["false", "true"])

                let attempts = children.filter { $0.name == "switchyard.attempt" }.sorted { $0.start < $1.start }
                #expect(attempts.map { $0.attributes["gen_ai.request.model"] } == ["m-primary", "m-primary", "m-primary", "m-secondary"])
                #expect(attempts.map { $0.attributes["switchyard.attempt.try"] } == ["1", "2", "3", "1"])
                #expect(attempts.map { $0.attributes["switchyard.retry"] } == ["false", "true", "true", "false"])
                #expect(attempts.map { $0.attributes["switchyard.fallback"] } == ["false", "false", "false", "true"])
                #expect(attempts.map { $0.attributes["http.response.status_code"] } == ["503", "503", "503", "200"])
                #expect(attempts.map(\.kind) == [3, 3, 3, 3], "client")
                #expect(attempts.prefix(3).allSatisfy { $0.statusCode == 2 }, "failed tries are errors")

                // Each upstream call carried its own try's span as the parent.
                let upstream = f.fake.requests().map { $0.header("traceparent") }
                #expect(upstream == attempts.map { Optional("00-\(Self.traceID)-\($0.spanID)-01") })
                #expect(receiver.requestHeaders.allSatisfy { $0["x-collector-token"] == "tok-123" })
            }
        }
    }

    @Test func cloudflareTraceHeadersStartTheTraceAndContentIsCapturedWhenAsked() async throws {
        try await OTLPReceiver.with { receiver in
            try await RouteFixture.run(routes: Self.routes, extraYAML: Self.telemetryYAML(receiver, extra: "capture_content: true"), retrySleep: { _ in }) { f, client in
                let r = try await client.post("/compat/chat/completions", json: chat("openai/gpt-4o-mini"), headers: headers([
                    ("cf-aig-otel-trace-id", Self.traceID), ("cf-aig-otel-parent-span-id", Self.callerSpan),
                ]))
                #expect(r.status == .ok)
                #expect(await receiver.waitForSpans(2))
                let request = try #require(receiver.spans.first { $0.name == "switchyard.request" })
                #expect(request.traceID == Self.traceID)
                #expect(request.parentSpanID == Self.callerSpan)
                #expect(request.attributes["gen_ai.request.model"] == "gpt-4o-mini")
                #expect(request.attributes["switchyard.request.body"]?.contains("hello there") == true)
                #expect(request.attributes["switchyard.response.body"]?.contains("choices") == true)
                #expect(request.attributes["switchyard.route"] == nil)
            }
        }
    }

    @Test func malformedCloudflareTraceHeadersStartANewTrace() async throws {
        try await OTLPReceiver.with { receiver in
            try await RouteFixture.run(routes: Self.routes, extraYAML: Self.telemetryYAML(receiver), retrySleep: { _ in }) { f, client in
                let r = try await client.post("/compat/chat/completions", json: chat("openai/gpt-4o-mini"), headers: headers([
                    ("cf-aig-otel-trace-id", "not-hex"), ("cf-aig-otel-parent-span-id", Self.callerSpan),
                ]))
                #expect(r.status == .ok)
                #expect(await receiver.waitForSpans(2))
                let request = try #require(receiver.spans.first { $0.name == "switchyard.request" })
                #expect(request.traceID.count == 32 && request.traceID != Self.traceID)
                #expect(request.parentSpanID == "")
            }
        }
    }

    @Test func telemetryIsOffByDefault() throws {
        let c = try ConfigurationParser.parse("providers: {}", environment: [:])
        #expect(!c.telemetry.enabled)
        #expect(c.telemetry.endpoint == nil)
    }

    @Test func telemetryConfigurationIsParsedWithRanges() throws {
        let c = try ConfigurationParser.parse("""
            telemetry:
              otlp: { endpoint: "https://otel.example.com/v1/traces", headers: { Authorization: "Bearer ${TOKEN}" }, encoding: protobuf, timeout: 3s }
              sampling_ratio: 0.25
              service_name: edge-gw
              max_queue_size: 100
              max_export_batch_size: 500
            """, environment: ["TOKEN": "secret-token"])
        #expect(c.telemetry.endpoint == "https://otel.example.com/v1/traces")
        #expect(c.telemetry.headers == ["authorization": "Bearer secret-token"])
        #expect(c.telemetry.samplingRatio == 0.25)
        #expect(c.telemetry.serviceName == "edge-gw")
        #expect(c.telemetry.exportTimeout == .seconds(3))
        #expect(c.telemetry.maxExportBatchSize == 100, "a batch is never larger than the queue")
        for (yaml, message) in [
            ("telemetry: { sampling_ratio: 1.5 }", "'telemetry.sampling_ratio' must be from 0 to 1"),
            ("telemetry: { otlp: { endpoint: \"ftp://x\" } }", "'telemetry.otlp.endpoint' must be an http:// or https:// URL"),
            ("telemetry: { otlp: { encoding: grpc } }", "'telemetry.otlp.encoding' must be protobuf or json"),
            ("telemetry: { max_queue_size: 0 }", "'telemetry.max_queue_size' must be a whole number from 1"),
            ("telemetry: { exporter: x }", "exporter"),
        ] {
            do {
                _ = try ConfigurationParser.parse(yaml, environment: [:])
                Issue.record("accepted: \(yaml)")
            } catch {
                let text = error.diagnostics.map(\.description).joined(separator: "\n")
                #expect(text.contains(message), "\(text)")
            }
        }
    }
}
