import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Synchronization
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardStorage
import Testing

@testable import SwitchyardServer

/// SPEC §6, "Nothing hostile stops the process", checked from the outside: a seeded fuzz of
/// requests sent over real sockets to the running gateway, whose providers all point at the fake
/// upstream (so that well-formed requests succeed quickly). Every `cf-aig-*` header gets hostile
/// values (integer extremes, huge digit strings, floats, NaN text, whitespace, unicode, 8 KB,
/// JSON that is deep, mistyped or full of huge numbers), bodies are random JSON (depth up to
/// 600, lone surrogates, invalid UTF-8, truncated, arrays, mistyped `model`), and paths and
/// methods are random (dot segments, encoded separators, very long paths, admin query values,
/// unusual methods).
///
/// Property of every case: the server answers; the status is below 500, except 502/504 with
/// codes 2005/2044 when the upstream was really involved (the fake received the request, or a
/// `cf-aig-request-timeout` ran out); every 4xx the gateway produces itself is Cloudflare's
/// envelope, and small; upstream 4xx are OpenAI's shape on compat and the provider's own bytes
/// on passthrough and universal. Afterwards `/healthz` answers 200, `/metrics` parses with no
/// negative counter, and nothing was logged as an internal error.
///
/// Reproduce one case: `SWITCHYARD_FUZZ_SEED=<hex> SWITCHYARD_FUZZ_CASE=<n> swift test --filter HostileInput`.
@Suite struct HostileInputTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seed: UInt64 = environment["SWITCHYARD_FUZZ_SEED"].flatMap { UInt64($0, radix: 16) } ?? 0x5EED_2026_C0DE_F022
    static let caseCount = environment["SWITCHYARD_FUZZ_CASES"].flatMap(Int.init) ?? 10_000
    static let onlyCase = environment["SWITCHYARD_FUZZ_CASE"].flatMap(Int.init)
    /// Connections, each used by one worker for its share of the cases (keep-alive).
    static let workers = 8

    /// Runs in scripts/test.sh's serial heavy phase (SWITCHYARD_HEAVY_TESTS=1): eight connections
    /// hammering the gateway beside the other suites would starve their wall-clock bounds.
    @Test(.enabled(if: heavyTests)) func seededFuzzAgainstTheRunningGateway() async throws {
        let started = ContinuousClock.now
        try await FuzzGateway.run { gateway in
            let cases = Self.onlyCase.map { [$0] } ?? Array(0..<Self.caseCount)
            let tally = FuzzTally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<Self.workers {
                    let mine = stride(from: worker, to: cases.count, by: Self.workers).map { cases[$0] }
                    group.addTask {
                        await onThread {
                            let client = FuzzClient(port: gateway.port)
                            defer { client.close() }
                            for index in mine {
                                let fuzzCase = FuzzCase.make(index: index, seed: Self.seed)
                                let sent = ContinuousClock.now
                                let outcome = client.send(fuzzCase)
                                tally.record(fuzzCase, outcome, verdict: FuzzOracle.check(fuzzCase, outcome), took: ContinuousClock.now - sent)
                            }
                            tally.addStaleRetries(client.staleRetries)
                        }
                    }
                }
                try await group.waitForAll()
            }
            // The fake's record of which cases reached it decides whether a 502 was legitimate.
            let reached = gateway.casesThatReachedTheUpstream()
            let report = tally.finish(reached: reached)
            let elapsed = (ContinuousClock.now - started).components
            let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
            print("HostileInputTests: seed \(String(Self.seed, radix: 16)), \(report.count) cases in \(String(format: "%.1f", seconds)) s")
            print("HostileInputTests: status histogram \(report.histogramText)")
            print("HostileInputTests: by endpoint \(report.endpointText)")
            for line in report.slowest { print("HostileInputTests: slow: \(line)") }
            print("HostileInputTests: \(reached.count) cases reached the upstream; \(report.upstreamShaped) answers in the upstream's shape, each confirmed against what the fake received")
            let logged = gateway.errors.all
            print("HostileInputTests: \(logged.count) warnings or errors logged\(logged.isEmpty ? "" : ", e.g. " + Set(logged.map { String($0.prefix(160)) }).sorted().prefix(3).joined(separator: " | "))")
            if report.staleRetries > 0 { print("HostileInputTests: \(report.staleRetries) requests re-sent on a fresh connection after a stale keep-alive close") }

            #expect(report.count == cases.count)
            if Self.onlyCase == nil { #expect(report.count >= 10_000) }
            for violation in report.violations.prefix(25) { Issue.record(Comment(rawValue: violation)) }
            #expect(report.violations.isEmpty, "\(report.violations.count) cases broke the property; the first are recorded above")

            // The process is up and its state is sane.
            let port = gateway.port
            let (health, scrape) = await onThread {
                let client = FuzzClient(port: port)
                defer { client.close() }
                return (client.send(FuzzCase(index: -1, method: "GET", target: Array("/healthz".utf8))), client.send(FuzzCase(index: -2, method: "GET", target: Array("/metrics".utf8))))
            }
            #expect(health.response?.status == 200, "healthz after the run: \(health)")
            let metrics = try PrometheusText(String(decoding: try #require(scrape.response?.body), as: UTF8.self))
            #expect(scrape.response?.status == 200)
            let negative = metrics.samples.filter { !($0.value >= 0) }
            #expect(negative.isEmpty, "negative or NaN samples: \(negative.prefix(5).map { "\($0.name)\($0.labels)=\($0.value)" })")
            #expect(metrics.sum("switchyard_requests_total") >= Double(report.count) * 0.5)
            let internalErrors = gateway.errors.all.filter { $0.contains("internal error") }
            #expect(internalErrors.isEmpty, "internal errors logged: \(internalErrors.prefix(5))")
        }
    }

    /// The oracle must be able to fail: the shapes the property forbids are flagged.
    @Test func theOracleFlagsWhatThePropertyForbids() {
        var chat = FuzzCase(index: 0, method: "POST", target: Array("/compat/chat/completions".utf8), body: Array(#"{"model":"openai/x"}"#.utf8))
        chat.endpoint = .compat
        func response(_ status: Int, _ body: String, headers: [(String, String)] = [("content-type", "application/json")]) -> FuzzOutcome {
            .response(FuzzResponse(status: status, headers: headers, body: Array(body.utf8), closes: false))
        }
        let envelope = #"{"error":[{"code":2043,"message":"bad"}],"httpCode":400,"internalCode":2043,"message":"bad","messages":[],"name":"AiGatewayError","result":[],"success":false}"#
        #expect(FuzzOracle.check(chat, response(400, envelope)) == nil)
        #expect(FuzzOracle.check(chat, response(400, "")) != nil, "a bare 400")
        #expect(FuzzOracle.check(chat, response(400, #"{"success":false}"#)) != nil, "half an envelope")
        #expect(FuzzOracle.check(chat, response(404, envelope)) != nil, "httpCode differs from the status")
        #expect(FuzzOracle.check(chat, response(500, envelope.replacingOccurrences(of: "400", with: "500"))) != nil, "a 500")
        #expect(FuzzOracle.check(chat, response(503, "")) != nil)
        #expect(FuzzOracle.check(chat, .closed(partial: [])) != nil, "no answer")
        #expect(FuzzOracle.check(chat, .timedOut(partial: [])) != nil, "a hang")
        let padded = envelope.replacingOccurrences(of: #""message":"bad"}"#, with: #""message":"\#(String(repeating: "m", count: 9000))"}"#)
        #expect(FuzzOracle.check(chat, response(400, padded)) != nil, "a client value echoed whole")
        // An upstream 4xx on compat is OpenAI's shape, and only with the provider named.
        let openAIError = #"{"error":{"code":null,"message":"no","param":null,"type":"invalid_request_error"}}"#
        #expect(FuzzOracle.check(chat, response(404, openAIError, headers: [("cf-aig-provider", "openai")])) == nil)
        #expect(FuzzOracle.check(chat, response(404, openAIError)) != nil)
        #expect(FuzzOracle.check(chat, response(404, "<html>", headers: [("cf-aig-provider", "openai")])) != nil)
        // 502 only when the upstream really had the request.
        let bad502 = #"{"error":[{"code":2005,"message":"no response"}],"httpCode":502,"internalCode":2005,"message":"no response","messages":[],"name":"AiGatewayError","result":[],"success":false}"#
        let with502 = response(502, bad502)
        #expect(FuzzOracle.check(chat, with502) == nil)
        #expect(FuzzOracle.check(chat, response(504, bad502.replacingOccurrences(of: "502", with: "504"))) != nil, "a 504 with code 2005")
        var admin = chat
        admin.endpoint = .admin
        #expect(FuzzOracle.check(admin, with502) != nil, "a 502 where no upstream is called")
        #expect(FuzzOracle.upstreamCheck(chat, with502, reached: []) != nil)
        #expect(FuzzOracle.upstreamCheck(chat, with502, reached: [0]) == nil)
        // An error in the upstream's shape that the upstream never saw is the gateway's own, without the envelope.
        let upstreamShaped = response(404, openAIError, headers: [("cf-aig-provider", "openai")])
        #expect(FuzzOracle.upstreamCheck(chat, upstreamShaped, reached: []) != nil)
        #expect(FuzzOracle.upstreamCheck(chat, upstreamShaped, reached: [0]) == nil)
        let translation = #"{"error":{"code":"invalid_value","message":"Unknown message role 'x'.","param":"messages[0].role","type":"invalid_request_error"}}"#
        #expect(FuzzOracle.upstreamCheck(chat, response(400, translation, headers: [("cf-aig-provider", "anthropic")]), reached: []) == nil)
        // A bare 400 and close from the HTTP layer is accepted only for bytes that are not HTTP.
        let httpLayer = FuzzOutcome.response(FuzzResponse(status: 400, headers: [("connection", "close"), ("content-length", "0")], body: [], closes: true))
        #expect(FuzzOracle.check(chat, httpLayer) != nil)
        var malformed = chat
        malformed.notHTTP = true
        #expect(FuzzOracle.check(malformed, httpLayer) == nil)
    }
}

// MARK: - The gateway under test

/// The gateway on a real socket in front of the fake upstream, every built-in provider pointed at
/// the fake, a route for `dynamic/fuzz`, a SQLite request log (so `/admin/logs` queries run).
struct FuzzGateway: Sendable {
    let port: Int
    let fake: FakeUpstream
    let errors: ErrorCapture

    func casesThatReachedTheUpstream() -> Set<Int> {
        Set(fake.requests().compactMap { $0.header(FuzzCase.caseHeader).flatMap(Int.init) })
    }

    static let route = """
        name: fuzz
        nodes:
          plan:
            if: metadata.plan == "paid" and body.max_tokens < 100000
            then: spend
            else: rate
          spend:
            budget: { limit: 1000000, per: 1d, key: metadata.org }
            then: gpt
            exceeded: gpt
          rate:
            rate: { limit: 1000000, per: 1h, key: metadata.user }
            then: ab
            exceeded: reject
          ab:
            split:
              - 50%: gpt
              - 50%: claude
            sticky: metadata.user
          gpt:
            model: openai/gpt-5-mini
            fallback: claude
          claude:
            model: anthropic/claude-sonnet-4-5
        """

    static func yaml(fake: FakeUpstream, routes: String) -> String {
        var providers = ""
        for info in ProviderCatalog.builtin {
            let base = switch info.family {
            case .anthropic, .gemini: fake.baseURL
            case .workersAI: fake.baseURL + "/client/v4/accounts/acct/ai"
            case .azureOpenAI: fake.baseURL + "/openai"
            default: fake.openAIBaseURL
            }
            providers += "  \(info.slug): { base_url: \"\(base)\", keys: { default: sk-fuzz-\(info.slug)-0001, team-b: sk-fuzz-b-\(info.slug)-0001 } }\n"
        }
        providers += "  my-vllm: { kind: openai-compatible, base_url: \"\(fake.openAIBaseURL)\" }\n"
        return """
            routes: \(routes)
            logs: { flush_interval: 50ms, queue_capacity: 50000 }
            limits: { max_body_bytes: \(FuzzCase.maxBodyBytes) }
            gateways:
              default: {}
              secure: { authentication: true, tokens: [gw-fuzz-token-0001] }
              cached: { cache: { ttl: 5m } }
            providers:
            \(providers)
            """
    }

    static func run(_ body: @Sendable (FuzzGateway) async throws -> Void) async throws {
        let fake = try await FakeUpstream.start(FakeUpstreamConfiguration(clock: { 1_700_000_000 }))
        let directory = NSTemporaryDirectory() + "switchyard-fuzz-\(UUID().uuidString)"
        let database = ControlsHarness.temporaryDatabasePath()
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try route.write(toFile: directory + "/fuzz.yaml", atomically: true, encoding: .utf8)
            var configuration = try ConfigurationParser.parse(yaml(fake: fake, routes: directory), environment: [:])
            configuration.listen.port = 0
            let routes = RouteLoading.load(directory: directory, configuration: configuration)
            #expect(routes.names == ["fuzz"], "\(routes.errors)")
            let errors = ErrorCapture()
            let app = buildApplication(
                configuration: configuration, environment: [:], routes: routes, logger: errors.logger,
                requestLog: try SQLiteDatabase(path: database), metrics: PrometheusCollectorRegistry(), randomSeed: HostileInputTests.seed
            )
            try await app.test(.live) { client in
                try await body(FuzzGateway(port: try #require(client.port), fake: fake, errors: errors))
            }
        } catch {
            try? await fake.shutdown()
            throw error
        }
        try await fake.shutdown()
    }
}

/// Warnings and errors the gateway logged (the info-level request lines are not kept).
final class ErrorCapture: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let sink: ErrorCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .warning
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let text = "\(event.level) \(event.message) \(event.metadata ?? [:])"
            sink.lines.withLock { $0.append(text) }
        }
    }

    var logger: Logger { Logger(label: "fuzz") { _ in Handler(sink: self) } }
}

// MARK: - Cases

/// One request, as bytes on the wire.
struct FuzzCase: Sendable, CustomStringConvertible {
    enum Endpoint: String, Sendable { case compat, passthrough, universal, admin, other }

    static let caseHeader = "x-fuzz-case"
    static let maxBodyBytes = 262_144

    var index: Int
    var method: String
    /// The request target, raw (may hold bytes no client library would send).
    var target: [UInt8]
    var headers: [(String, [UInt8])] = []
    var body: [UInt8] = []
    /// Send the body chunked instead of with `content-length`.
    var chunked = false
    /// Which gateway endpoint the generator aimed at (what decides the shape of upstream errors).
    var endpoint: Endpoint = .other
    /// Bytes that are not valid HTTP/1.1 (a method llhttp does not know, a control byte in the target
    /// or a header value): the HTTP layer's bare 400 and close is an acceptable answer.
    var notHTTP = false
    /// Whether a `cf-aig-request-timeout` (or a step's `requestTimeout`) may run out: 504 is legitimate.
    var mayTimeOut = false

    init(index: Int, method: String, target: [UInt8], body: [UInt8] = []) {
        self.index = index
        self.method = method
        self.target = target
        self.body = body
    }

    var wire: [UInt8] {
        var out = Array("\(method) ".utf8) + target + Array(" HTTP/1.1\r\nhost: gw\r\n".utf8)
        out += Array("\(Self.caseHeader): \(index)\r\n".utf8)
        for (name, value) in headers { out += Array(name.utf8) + Array(": ".utf8) + value + Array("\r\n".utf8) }
        if chunked {
            out += Array("transfer-encoding: chunked\r\n\r\n".utf8)
            var rest = body[...]
            var size = 1
            while !rest.isEmpty {
                let piece = rest.prefix(size)
                out += Array(String(piece.count, radix: 16).utf8) + Array("\r\n".utf8) + piece + Array("\r\n".utf8)
                rest = rest.dropFirst(piece.count)
                size = size * 3 + 7
            }
            out += Array("0\r\n\r\n".utf8)
        } else {
            if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) { out += Array("content-length: \(body.count)\r\n".utf8) }
            out += Array("\r\n".utf8) + body
        }
        return out
    }

    var description: String {
        func shown(_ bytes: [UInt8], _ limit: Int) -> String {
            let text = String(decoding: bytes.prefix(limit), as: UTF8.self).debugDescription
            return bytes.count > limit ? text + "…(\(bytes.count) bytes)" : text
        }
        let h = headers.map { "\($0.0): \(shown($0.1, 120))" }.joined(separator: "; ")
        return "case \(index) [\(endpoint.rawValue)] \(method) \(shown(target, 200)) headers {\(h)} body \(shown(body, 300))\(chunked ? " (chunked)" : "")"
    }

    static func make(index: Int, seed: UInt64) -> FuzzCase {
        var g = Hostile(rng: SplitMix64(seed: SplitMix64.mix(seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))))
        return g.fuzzCase(index: index)
    }
}

/// The hostile-value generator: SplitMix64, so that every case is a pure function of (seed, index).
struct Hostile {
    var rng: SplitMix64

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(max(1, n))) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[int(values.count)] }

    // MARK: Scalars

    static let numberTexts = [
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551615",
        "18446744073709551616", "0", "-0", "00", "-1", "1", "2", "5", "6", "59", "60", "100", "5000", "5001", "3600000", "3600001",
        "2592000", "2592001", "1e3", "1.5", "0.0", "-0.0", "1e308", "-1e308", "1e309", "1e-400", "4.9e-324", "NaN", "nan", "-nan",
        "inf", "-inf", "Infinity", "-Infinity", "0x10", "+5", "1_000", "１２", "٣", "12ms", " 12 ", "\t7\t", "1 2", "999999999999999999",
        "1000000000000000000", "17976931348623157e292",
    ]
    static let words = [
        "", " ", "   ", "\t", "true", "false", "TRUE", "yes", "no", "on", "off", "1", "0", "null", "undefined", "constant", "linear",
        "exponential", "EXPONENTIAL", " linear ", "fibonacci", "default", "team-b", "nope", "Bearer", "Bearer ", "Bearer gw-fuzz-token-0001",
        "gw-fuzz-token-0001", "bearer gw-fuzz-token-0001", "Basic Zm9vOmJhcg==", "../../etc/passwd", "%00", "a b", "é", "😀", "\u{202E}rtl",
        "e\u{301}", "日本語", "\u{FEFF}bom", "{}", "[]", #"{"a":1}"#, "\\", "\"", "'", "<script>", "${HOME}", "%s%n", "\u{0}",
    ]
    static let jsonNumbers = [
        "0", "-0", "1", "-1", "0.5", "1e308", "-1e308", "1e-400", "1E+2", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890", "1.7976931348623157e308", "5e-324",
        "1e999", "-1e999", "12.5", "100000", "4294967296", "2147483648",
    ]
    /// Not JSON at all, written where a JSON value goes.
    static let invalidJSONNumbers = ["NaN", "Infinity", "-Infinity", "01", "1.", ".5", "+1", "0x1F", "1e", "--1"]
    static let jsonStrings = [
        #""""#, #""hi""#, #""\ud800""#, #""\udc00x""#, #""\ud800\ud800""#, #""\udbff\udfff""#, #""\u0000""#, #""a\"b""#,
        #""\/\b\f\n\r\t""#, #""😀""#, #""日本語""#, #""\u202Ertl""#, #""e\u0301""#, #""openai/gpt-5-mini""#, #""dynamic/fuzz""#,
    ]
    static let invalidStrings: [[UInt8]] = [
        Array(#""\x""#.utf8), Array(#""\u12""#.utf8), Array("\"a\u{1}b\"".utf8), Array(#""unterminated"#.utf8),
        [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22],
    ]

    /// `count` random bytes from `alphabet` (built a word at a time: this runs for every case).
    mutating func bytes(_ count: Int, from alphabet: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var word: UInt64 = 0
        for i in 0..<count {
            if i % 8 == 0 { word = rng.next() }
            out[i] = alphabet[Int(word & 0xFF) % alphabet.count]
            word >>= 8
        }
        return out
    }

    static let digitBytes = Array("0123456789".utf8)
    static let printable = (0x21...0x7E).map(UInt8.init)

    mutating func digits(_ count: Int) -> String {
        var b = bytes(count, from: Self.digitBytes)
        b[0] = UInt8(ascii: "1") + UInt8(int(9))
        return String(decoding: b, as: UTF8.self)
    }

    /// `count` bytes of text: ASCII, two-byte or four-byte characters, or random printable ASCII.
    mutating func longText(_ count: Int) -> String {
        switch int(4) {
        case 0: String(repeating: "x", count: count)
        case 1: String(repeating: "é", count: count / 2)
        case 2: String(repeating: "😀", count: count / 4)
        default: String(decoding: bytes(count, from: Self.printable), as: UTF8.self)
        }
    }

    /// Every byte but unreserved ASCII percent-encoded (Foundation's encoder is slow on 8 KB).
    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3)
        for b in text.utf8 {
            if (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E {
                out.append(b)
            } else {
                out += [0x25, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string literal, bytes included.
    mutating func jsonString() -> [UInt8] {
        switch int(20) {
        case 0..<10: Array(pick(Self.jsonStrings).utf8)
        case 10: Array("\"\(longText(pick([1000, 1000, 8192, 65536])))\"".utf8)
        case 11..<14: pick(Self.invalidStrings)
        default: Array("\"\(pick(["a", "b", "hello", "role", "content", "user", "model"]))\(int(1000))\"".utf8)
        }
    }

    /// `open` + the parts separated by commas + `close`, appended array by array (generic
    /// `joined()` goes byte by byte, which in a debug build costs seconds per thousand cases).
    static func joined(_ parts: [[UInt8]], open: UInt8, close: UInt8) -> [UInt8] {
        var out: [UInt8] = [open]
        out.reserveCapacity(parts.reduce(2) { $0 + $1.count + 1 })
        for (i, part) in parts.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(contentsOf: part)
        }
        out.append(close)
        return out
    }

    mutating func jsonNumber() -> [UInt8] {
        if chance(5) { return Array(pick(Self.invalidJSONNumbers).utf8) }
        if chance(10) { return Array(digits(pick([20, 40, 400, 5000])).utf8) }
        return Array(pick(Self.jsonNumbers).utf8)
    }

    mutating func jsonScalar() -> [UInt8] {
        switch int(10) {
        case 0..<4: jsonNumber()
        case 4..<8: jsonString()
        case 8: Array(pick(["true", "false"]).utf8)
        default: Array("null".utf8)
        }
    }

    static let keys = ["model", "messages", "role", "content", "stream", "max_tokens", "temperature", "tools", "a", "", "😀", "cf.x", "\\u0000"]

    /// A random JSON value, `depth` levels of containers at most.
    mutating func json(depth: Int, budget: inout Int) -> [UInt8] {
        budget -= 1
        guard depth > 0, budget > 0, chance(55) else { return jsonScalar() }
        let count = pick([0, 1, 1, 2, 3, 5, 20])
        if chance(50) {
            var out: [UInt8] = [0x5B]
            for i in 0..<count {
                if i > 0 { out.append(0x2C) }
                out += json(depth: depth - 1, budget: &budget)
            }
            return out + [0x5D]
        }
        var out: [UInt8] = [0x7B]
        for i in 0..<count {
            if i > 0 { out.append(0x2C) }
            out += Array("\"\(pick(Self.keys))\":".utf8) + json(depth: depth - 1, budget: &budget)
        }
        return out + [0x7D]
    }

    /// Containers nested `depth` deep around a scalar (up to 600: past every parser's 512).
    mutating func deep(_ depth: Int) -> [UInt8] {
        let object = chance(50)
        let open = object ? Array(#"{"a":"#.utf8) : [0x5B]
        let close: [UInt8] = object ? [0x7D] : [0x5D]
        var out: [UInt8] = []
        out.reserveCapacity(depth * (open.count + 1) + 8)
        for _ in 0..<depth { out += open }
        out += jsonScalar()
        for _ in 0..<depth { out += close }
        return out
    }

    mutating func anyJSON() -> [UInt8] {
        var budget = 200
        return chance(15) ? deep(pick([64, 511, 512, 513, 600])) : json(depth: pick([1, 2, 4, 8]), budget: &budget)
    }

    // MARK: Headers

    static let aigHeaders = [
        "cf-aig-request-timeout", "cf-aig-max-attempts", "cf-aig-retry-delay", "cf-aig-backoff", "cf-aig-cache-ttl", "cf-aig-skip-cache",
        "cf-aig-cache-key", "cf-aig-metadata", "cf-aig-collect-log", "cf-aig-collect-log-payload", "cf-aig-event-id", "cf-aig-custom-cost",
        "cf-aig-byok-alias", "cf-aig-authorization",
    ]

    mutating func metadataValue() -> String {
        switch int(12) {
        case 0: return #"{"plan":"paid","org":"o\#(int(50))","user":"u\#(int(50))"}"#
        case 1: return #"{"plan":"free","user":"u\#(int(50))"}"#
        case 2: return "{" + (0..<pick([6, 50, 400])).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        case 3: return #"{"plan":\#(String(decoding: deep(pick([10, 513, 600])), as: UTF8.self))}"#
        case 4: return #"{"n":\#(pick(Self.jsonNumbers)),"m":\#(pick(Self.jsonNumbers))}"#
        case 5: return pick(["[]", "\"paid\"", "1", "null", "{", #"{"plan":}"#, "{'plan':'paid'}", ""])
        case 6: return #"{"k":""# + String(repeating: "m", count: pick([8180, 8200, 9000])) + #""}"#
        case 7: return #"{"cf.secret":"x","plan":"paid","org":"\#(longText(pick([10, 300, 2000])))"}"#
        case 8: return #"{"😀":"é","\u0000":"\ud800","plan":"paid"}"#
        case 9: return #"{"plan":"paid","plan":"free"}"#
        case 10: return #"{"user":\#(String(decoding: jsonString(), as: UTF8.self))}"#
        default: return String(decoding: anyJSON().prefix(8000), as: UTF8.self)
        }
    }

    mutating func customCostValue() -> String {
        let key = pick(["per_token_in", "per_token_out", "per_cache_read_token", "per_cache_write_token", "total_cost", "x", ""])
        switch int(6) {
        case 0: return #"{"\#(key)":\#(pick(Self.jsonNumbers))}"#
        case 1: return #"{"per_token_in":\#(pick(Self.jsonNumbers)),"per_token_out":\#(pick(Self.jsonNumbers)),"total_cost":\#(pick(Self.jsonNumbers))}"#
        case 2: return #"{"\#(key)":"1"}"#
        case 3: return #"{"per_token_in":0.000001,"per_token_out":0.000002}"#
        case 4: return pick([#"{"total_cost":1000000}"#, #"{"total_cost":1000000.0001}"#, #"{"per_token_in":1000}"#, #"{"per_token_in":1e3}"#, "[]", "1e308", "{"])
        default: return #"{"\#(key)":\#(String(decoding: deep(pick([5, 513, 600])), as: UTF8.self))}"#
        }
    }

    mutating func specificValue(_ name: String) -> String {
        switch name {
        case "cf-aig-request-timeout": pick(["1", "2", "50", "30000", "3600000", "3600001", "0", "-5", "1e3", "99999999999999999999"])
        case "cf-aig-max-attempts": pick(["1", "2", "5", "6", "0", "-1", "3.0", "9223372036854775807"])
        case "cf-aig-retry-delay": pick(["0", "10", "5000", "5001", "-1", "1e4", "18446744073709551616"])
        case "cf-aig-backoff": pick(["constant", "linear", "exponential", " Exponential ", "LINEAR", "fibonacci", "expo nential", ""])
        case "cf-aig-cache-ttl": pick(["0", "59", "60", "300", "2592000", "2592001", "-60", "9223372036854775807", "1e5", "60.5"])
        case "cf-aig-skip-cache", "cf-aig-collect-log", "cf-aig-collect-log-payload": pick(["true", "false", "1", "0", "yes", "no", "TRUE", "maybe", " on "])
        case "cf-aig-cache-key": pick(["k\(int(20))", "shared", longText(pick([300, 8192])), "😀", ""])
        case "cf-aig-metadata": metadataValue()
        case "cf-aig-event-id": pick([String(repeating: "e", count: 256), String(repeating: "e", count: 257), "evt-\(int(100))", "é", "a\u{7F}b", " "])
        case "cf-aig-custom-cost": customCostValue()
        case "cf-aig-byok-alias": pick(["default", "team-b", "nope", String(repeating: "a", count: 64), String(repeating: "a", count: 65), "a b", "../x", "a.b_c-d"])
        case "cf-aig-authorization": pick(["Bearer gw-fuzz-token-0001", "gw-fuzz-token-0001", "Bearer gw-fuzz-token-000", "Bearer ", "Bearer " + longText(8192), "Basic x"])
        default: pick(Self.words)
        }
    }

    mutating func headerValue(_ name: String) -> [UInt8] {
        switch int(12) {
        case 0..<5: return Array(specificValue(name).utf8)
        case 5..<7: return Array(pick(Self.numberTexts).utf8)
        case 7: return Array(pick(Self.words).utf8)
        case 8: return Array(digits(pick([19, 20, 21, 40, 400, 4000])).utf8)
        case 9: return Array(longText(pick([8192, 8193])).utf8)
        case 10: return Array((chance(20) ? deep(pick([100, 600])) : anyJSON()).prefix(8192))
        default:
            // Bytes: obs-text (valid for HTTP, invalid UTF-8) or a control byte (not valid HTTP).
            var value = Array(specificValue(name).utf8)
            value.insert(pick([0x80, 0xFF, 0xC3, 0xED, 0x01, 0x7F]), at: int(value.count + 1))
            return value
        }
    }

    // MARK: Bodies

    static let models = [
        "openai/gpt-5-mini", "openai/gpt-5-mini", "anthropic/claude-sonnet-4-5", "google-ai-studio/gemini-2.5-flash",
        "workers-ai/@cf/meta/llama-3.3-70b-instruct-fp8-fast", "azure-openai/res/dep", "groq/llama", "my-vllm/qwen", "dynamic/fuzz",
        "dynamic/fuzz", "dynamic/nope", "dynamic/", "nope/model", "openai/", "/gpt", "openai", "", "compat/x", "dynamic/../fuzz",
        "azure-openai/a/b/c", "workers-ai/", "openai/😀", "custom-my-vllm/qwen",
    ]

    mutating func modelJSON() -> [UInt8] {
        switch int(20) {
        case 0..<13: return Array("\"\(pick(Self.models))\"".utf8)
        case 13: return Array("\"openai/\(longText(pick([300, 10000, 100_000])))\"".utf8)
        case 14: return Array("\"\(longText(pick([300, 8192])))\"".utf8)
        case 15: return Array("\"nope\(int(10))/\(longText(pick([10, 5000])))\"".utf8)
        case 16: return pick(Self.invalidStrings)
        default: return chance(50) ? jsonNumber() : anyJSON()
        }
    }

    mutating func messagesJSON() -> [UInt8] {
        switch int(12) {
        case 0..<6: return Array(#"[{"role":"user","content":"hi \#(int(100000))"}]"#.utf8)
        case 6: return Array(#"[{"role":"user","content":"#.utf8) + jsonString() + Array("}]".utf8)
        case 7: return Array(#"[{"role":\#(pick(["\"system\"", "\"tool\"", "\"assistant\"", "\"nope\"", "1", "null"])),"content":"hi"}]"#.utf8)
        case 8: return Array(("[" + Array(repeating: #"{"role":"user","content":"x"}"#, count: pick([0, 2, 500])).joined(separator: ",") + "]").utf8)
        case 9: return Array(#"[{"role":"user","content":[{"type":"text","text":"#.utf8) + jsonString() + Array("}]}]".utf8)
        default: return anyJSON()
        }
    }

    static let fieldNames = [
        "stream", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "tools", "tool_choice", "stream_options", "user",
        "seed", "response_format", "logit_bias", "reasoning_effort", "metadata", "n", "presence_penalty", "frequency_penalty", "input",
        "system", "thinking", "logprobs", "top_logprobs", "parallel_tool_calls",
    ]

    mutating func fieldValue(_ name: String) -> [UInt8] {
        switch (name, int(4)) {
        case ("stream", 0...2): Array(pick(["true", "false", "null", "\"true\"", "1"]).utf8)
        case ("stream_options", 0...1): Array(pick([#"{"include_usage":true}"#, #"{"include_usage":"yes"}"#, "[]"]).utf8)
        case ("tools", 0...1): Array(#"[{"type":"function","function":{"name":"f","parameters":"#.utf8) + anyJSON() + Array("}}]".utf8)
        case ("max_tokens", 0...1), ("max_completion_tokens", 0...1): jsonNumber()
        default: chance(60) ? jsonScalar() : anyJSON()
        }
    }

    mutating func chatBody(model: [UInt8]?) -> [UInt8] {
        var members: [[UInt8]] = []
        if let model { members.append(Array(#""model":"#.utf8) + model) }
        if chance(95) { members.append(Array(#""messages":"#.utf8) + messagesJSON()) }
        for _ in 0..<pick([0, 0, 1, 2, 4]) {
            let name = pick(Self.fieldNames)
            members.append(Array("\"\(name)\":".utf8) + fieldValue(name))
        }
        if chance(10) { members.shuffle(using: &rng) }
        return Self.joined(members, open: 0x7B, close: 0x7D)
    }

    /// What happens to a body on its way out: truncation, a stray byte, another top level, nothing.
    mutating func mutate(_ body: [UInt8]) -> [UInt8] {
        switch int(100) {
        case 0..<8: return Array(body.prefix(int(body.count)))
        case 8..<11:
            var b = body
            b.insert(pick([0xFF, 0xC0, 0x80, 0xED, 0x00]), at: int(b.count + 1))
            return b
        case 11..<14: return anyJSON()
        case 14..<16: return []
        case 16..<18: return Array(#"{"model":"openai/gpt-5-mini","messages":"#.utf8) + deep(pick([513, 600])) + [0x7D]
        case 18..<19: return Array(#"{"model":"openai/gpt-5-mini","pad":""#.utf8) + Array(repeating: 0x61, count: FuzzCase.maxBodyBytes) + Array(#""}"#.utf8)
        case 19..<21: return Array("[".utf8) + body + Array("]".utf8)
        case 21..<22: return Array(#"{"model":"openai/gpt-5-mini","messages":[{"role":"user","content":"hi"}],"model":"#.utf8) + modelJSON() + [0x7D]
        default: return body
        }
    }

    mutating func embeddingsBody() -> [UInt8] {
        var body = Array(#"{"model":"#.utf8) + modelJSON()
        body += Array(#","input":"#.utf8) + (chance(60) ? Array(pick([#""hello""#, #"["a","b"]"#, "[1,2,3]", "[[1,2],[3]]", "[]", "\"\""]).utf8) : anyJSON())
        if chance(20) { body += Array(#","encoding_format":"#.utf8) + jsonScalar() }
        // The fake builds a vector this long (capped since it aborted `serve --demo`).
        if chance(20) { body += Array(#","dimensions":"#.utf8) + (chance(50) ? Array(pick(["4294967296", "999999999999999", "100000", "3072", "-1", "0"]).utf8) : jsonNumber()) }
        return body + [0x7D]
    }

    // MARK: Paths

    static let accounts = ["acct", "a", "%2e%2e", "..", ".", "a%2fb", "%00", "%F0%9F%98%80", "a;b", "@", ":", "~", "-"]

    mutating func account() -> String {
        chance(90) ? pick(Self.accounts) : Self.percentEncoded(longText(pick([300, 4000])))
    }

    mutating func gateway() -> String { pick(["default", "default", "default", "secure", "cached", "nope", "DEFAULT", "%64efault", ""]) }

    mutating func prefix() -> String {
        switch int(10) {
        case 0..<5: ""
        case 5..<9: "/v1/\(account())/\(gateway())"
        default: "/v1/\(account())/\(gateway())/"
        }
    }

    mutating func query() -> String {
        switch int(12) {
        case 0..<7: ""
        case 7: "?key=sk-query-\(int(100))"
        case 8: "?a=" + Self.percentEncoded(longText(4000))
        case 9: pick(["?%zz", "?&&&", "?=", "?a=%00", "?alt=sse", "?key=gw-fuzz-token-0001&x=1", "?#frag"])
        default: "?x=\(int(10))"
        }
    }

    static let segments = ["..", ".", "%2e%2e", "%2E%2e", ".%2e", "%2e", "%2f", "a%2fb", "a%2Fb", "a%5Cb", "a\\b", "%00", "", "%zz", "%", "%%", "%2", "~", "%252e%252e"]

    /// A passthrough path after the provider segment, sometimes climbing or encoding separators.
    mutating func rest(_ base: String) -> String {
        var parts = base.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        switch int(10) {
        case 0..<5: break
        case 5..<8: parts.insert(pick(Self.segments), at: 1 + int(parts.count))
        case 8: parts += Array(repeating: "seg", count: pick([100, 1000]))
        default: parts.insert(Self.percentEncoded(longText(pick([1000, 8000]))), at: 1 + int(parts.count))
        }
        return parts.joined(separator: "/")
    }

    /// Provider path segments and paths after them: the first four are the formats the fake answers.
    static let providerRests: [(String, [String])] = [
        ("openai", ["/v1/chat/completions", "/chat/completions", "/v1/models", "/v1/embeddings", "/v1/responses", ""]),
        ("anthropic", ["/v1/messages", "/v1/messages/count_tokens", "/v1/models"]),
        ("google-ai-studio", ["/v1beta/models/gemini-2.5-flash:generateContent", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "/v1beta/models"]),
        ("workers-ai", ["/@cf/meta/llama-3.3-70b-instruct-fp8-fast", "/v1/chat/completions"]),
        ("azure-openai", ["/res/dep/chat/completions?api-version=2024-10-21", "/v1/chat/completions", "/a%20b/c"]),
        ("groq", ["/chat/completions"]), ("perplexity-ai", ["/chat/completions"]),
        ("custom-my-vllm", ["/chat/completions"]),
        ("nope", ["/v1/chat/completions", ""]), ("%2e%2e", ["/x"]), ("OPENAI", ["/v1/models"]),
    ]

    // MARK: Whole cases

    static let methods = ["POST", "GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "PURGE", "M-SEARCH", "SEARCH"]
    /// Tokens llhttp (the server's HTTP parser) does not know as methods.
    static let notHTTPMethods = ["FOO", "get", "Post", "BREW", String(repeating: "X", count: 100)]

    mutating func method(_ usual: String) -> (String, Bool) {
        switch int(100) {
        case 0..<80: (usual, false)
        case 80..<96: (pick(Self.methods), false)
        default: (pick(Self.notHTTPMethods), true)
        }
    }

    /// What of a case is hostile; the rest is drawn valid, so that cases get past the first check
    /// and into routing, dispatch, the cache and the upstream call.
    enum Dimension: CaseIterable { case path, method, headers, body, query }
    var hostile: Set<Dimension> = []

    mutating func fuzzCase(index: Int) -> FuzzCase {
        // 0 (a valid request, the control) to 3 hostile dimensions.
        hostile = Set(Dimension.allCases.shuffled(using: &rng).prefix(pick([0, 1, 1, 2, 2, 3])))
        var c = FuzzCase(index: index, method: "POST", target: [])
        var target: String
        var usualMethod = "POST"
        let path = hostile.contains(.path), body = hostile.contains(.body)
        let q = hostile.contains(.query) ? query() : ""
        switch int(100) {
        case 0..<50:
            c.endpoint = .compat
            let endpoint = path
                ? pick(["chat/completions", "embeddings", "models", "chat/completions/", "chat//completions", "chat/%63ompletions", "CHAT/completions",
                        "chat/completions/../completions", "chat/completions/.", "nope"])
                : pick(["chat/completions", "chat/completions", "chat/completions", "chat/completions", "embeddings", "models"])
            target = (path ? prefix() : pick(["", "/v1/acct/default", "/v1/acct/cached", "/v1/acct/secure"])) + "/compat/" + endpoint + q
            if endpoint == "models" { usualMethod = "GET" }
            if endpoint == "embeddings" {
                c.body = body ? embeddingsBody() : Array(#"{"model":"openai/text-embedding-3-small","input":"hello \#(int(1000))"}"#.utf8)
            } else {
                c.body = body ? mutate(chatBody(model: chance(97) ? modelJSON() : nil)) : validChatBody()
            }
        case 50..<75:
            c.endpoint = .passthrough
            let (provider, rests) = path ? pick(Self.providerRests) : pick(Array(Self.providerRests.prefix(4)))
            let base = pick(rests)
            target = (path ? prefix() + "/" + provider + rest(base) : pick(["", "/v1/acct/default", "/v1/acct/cached"]) + "/" + provider + base) + q
            if base.hasSuffix("/models") { usualMethod = "GET" }
            let model: [UInt8] = switch provider {
            case "anthropic": Array(#""claude-x""#.utf8)
            default: !body || chance(80) ? Array(#""gpt-5-mini""#.utf8) : modelJSON()
            }
            var payload = body ? chatBody(model: model) : validChatBody(model: model)
            if provider == "anthropic" { payload = Array(payload.dropLast()) + Array(#","max_tokens":"#.utf8) + (body ? jsonNumber() : Array("16".utf8)) + [0x7D] }
            if provider == "google-ai-studio" { payload = Array(#"{"contents":[{"parts":[{"text":"#.utf8) + (body ? jsonString() : Array(#""hi""#.utf8)) + Array("}]}]}".utf8) }
            c.body = body ? mutate(payload) : payload
        case 75..<83:
            c.endpoint = .universal
            target = (path ? "/v1/\(account())/\(gateway())" + (chance(10) ? "/" : "") : "/v1/acct/" + pick(["default", "cached", "secure"])) + q
            c.body = body ? universalBody() : Self.joined([universalStep(valid: true)], open: 0x5B, close: 0x5D)
        case 83..<93:
            c.endpoint = .admin
            (target, usualMethod, c.body) = adminRequest()
            target += q
        default:
            c.endpoint = .other
            target = pick([
                "/healthz", "/metrics", "/", "*", "//", "/v1", "/v1/", "/v1/acct", "/healthz?x=1", "/metrics/..", "http://evil.example/healthz",
                "/%2e%2e/%2e%2e/etc/passwd", "/compat", "/compat/", "/dashboard", "/healthz/", "/metrics?name[]=x", "/" + String(repeating: "a/", count: 3000),
            ])
            usualMethod = pick(["GET", "GET", "HEAD", "POST"])
            if chance(30) { c.body = anyJSON() }
        }
        c.target = Array(target.utf8)
        if path, chance(5) {
            // A raw byte no client library would put in a request target.
            c.target.insert(pick([0xFF, 0xC3, 0x7F, 0x01]), at: 1 + int(max(1, c.target.count - 1)))
            c.notHTTP = true
        }
        let (method, notHTTP) = hostile.contains(.method) ? method(usualMethod) : (usualMethod, false)
        c.method = method
        c.notHTTP = c.notHTTP || notHTTP
        headers(into: &c)
        if chance(5), !c.body.isEmpty { c.chunked = true }
        return c
    }

    /// A chat request a provider accepts, with a few valid optional fields.
    mutating func validChatBody(model: [UInt8]? = nil) -> [UInt8] {
        var members = [
            Array(#""model":"#.utf8) + (model ?? Array("\"\(pick(Array(Self.models.prefix(10))))\"".utf8)),
            Array(#""messages":[{"role":"user","content":"hi \#(int(100000))"}]"#.utf8),
        ]
        if chance(30) { members.append(Array(#""stream":true,"stream_options":{"include_usage":true}"#.utf8)) }
        if chance(30) { members.append(Array(#""max_tokens":\#(1 + int(4000))"#.utf8)) }
        if chance(20) { members.append(Array(#""temperature":0.\#(int(10))"#.utf8)) }
        return Self.joined(members, open: 0x7B, close: 0x7D)
    }

    static let validHeaderValues: [String: [String]] = [
        "cf-aig-request-timeout": ["30000", "3600000"], "cf-aig-max-attempts": ["1", "2", "5"], "cf-aig-retry-delay": ["0", "10", "5000"],
        "cf-aig-backoff": ["constant", "linear", "exponential"], "cf-aig-cache-ttl": ["0", "60", "300", "2592000"], "cf-aig-skip-cache": ["true", "false"],
        "cf-aig-cache-key": ["k1", "k2", "shared"], "cf-aig-metadata": [#"{"plan":"paid","org":"o1","user":"u1"}"#, #"{"plan":"free","user":"u2"}"#, "{}"],
        "cf-aig-collect-log": ["true", "false"], "cf-aig-collect-log-payload": ["true", "false"], "cf-aig-event-id": ["evt-1", "evt-2"],
        "cf-aig-custom-cost": [#"{"per_token_in":0.000001,"per_token_out":0.000002}"#, #"{"total_cost":0.5}"#], "cf-aig-byok-alias": ["default", "team-b"],
        "cf-aig-authorization": ["Bearer gw-fuzz-token-0001"],
    ]

    mutating func headers(into c: inout FuzzCase) {
        c.headers.append(("content-type", Array(pick(["application/json", "application/json", "application/json", "text/plain", "application/json; charset=latin1", ""]).utf8)))
        var chosen: [String: [UInt8]] = [:]
        let hostileHeaders = hostile.contains(.headers)
        for _ in 0..<(hostileHeaders ? pick([1, 1, 2, 2, 3, 4]) : pick([0, 0, 1, 2])) {
            let name = pick(Self.aigHeaders)
            let value = hostileHeaders ? headerValue(name) : Array(pick(Self.validHeaderValues[name] ?? [""]).utf8)
            chosen[name] = value
            // A different case for the name, or the header twice.
            let written = chance(10) ? name.uppercased() : name
            c.headers.append((written, value))
            if hostileHeaders, chance(5) { c.headers.append((name, headerValue(name))) }
        }
        if hostileHeaders, chance(10) { c.headers.append(("authorization", Array(pick(["Bearer sk-client-0001", "Bearer gw-fuzz-token-0001", "Bearer ", "Basic x", longText(8192)]).utf8))) }
        if hostileHeaders, chance(3) { c.headers.append(("x-api-key", Array(pick(["sk-client", "gw-fuzz-token-0001"]).utf8))) }
        for (_, value) in c.headers where value.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) { c.notHTTP = true }
        // Retries only follow a timeout here (the fake answers every request): a short timeout
        // together with up to 5 attempts and 5 s exponential delays would take a minute. Such a
        // request is valid and slow by design, not hostile; it is left out.
        let timeout = chosen["cf-aig-request-timeout"].flatMap { Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces)) }
        if let timeout, (1...3_600_000).contains(timeout) {
            if timeout < 30_000 { c.mayTimeOut = true }
            if timeout < 30_000, c.headers.contains(where: { $0.0.lowercased() == "cf-aig-max-attempts" }) {
                c.headers.removeAll { $0.0.lowercased() == "cf-aig-max-attempts" }
            }
        }
        if c.headers.contains(where: { $0.0.lowercased() == "cf-aig-request-timeout" }) { c.mayTimeOut = true }
    }

    mutating func universalBody() -> [UInt8] {
        switch int(20) {
        case 0: return anyJSON()
        case 1: return Array("[]".utf8)
        case 2: return Array(("[" + Array(repeating: #"{"provider":"nope","endpoint":"x","query":{}}"#, count: pick([11, 1000])).joined(separator: ",") + "]").utf8)
        case 3: return universalStep()
        default:
            let steps = (0..<pick([1, 1, 2, 3])).map { _ in universalStep() }
            return Self.joined(steps, open: 0x5B, close: 0x5D)
        }
    }

    mutating func universalStep(valid: Bool = false) -> [UInt8] {
        if valid {
            let (provider, endpoint) = pick([("openai", "chat/completions"), ("anthropic", "v1/messages"), ("workers-ai", "@cf/meta/llama-3.3-70b-instruct-fp8-fast")])
            let query = provider == "anthropic" ? #"{"model":"claude-x","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"# : #"{"model":"gpt-5-mini","messages":[{"role":"user","content":"hi"}]}"#
            return Array(#"{"provider":"\#(provider)","endpoint":"\#(endpoint)","query":\#(query)}"#.utf8)
        }
        var members: [[UInt8]] = []
        if chance(95) { members.append(Array(#""provider":"#.utf8) + (chance(85) ? Array("\"\(pick(["openai", "anthropic", "google-ai-studio", "workers-ai", "groq", "nope", "compat", "azure-openai", ""]))\"".utf8) : jsonScalar())) }
        if chance(95) {
            let endpoint = pick([
                "chat/completions", "chat/completions", "v1/messages", "v1beta/models/gemini-2.5-flash:generateContent", "@cf/meta/llama",
                "../x", "%2e%2e/x", "chat/completions?key=abc", "a%2fb", "/chat/completions", "", "v1/models",
            ])
            members.append(Array(#""endpoint":"#.utf8) + (chance(90) ? Array("\"\(endpoint)\"".utf8) : jsonScalar()))
        }
        if chance(30) {
            let headers = switch int(6) {
            case 0: #"{"x-a":"b"}"#
            case 1: #"{"authorization":"Bearer gw-fuzz-token-0001"}"#
            case 2: #"{"x-a":"a\r\nx-b: c"}"#
            case 3: #"{"bad name":"x"}"#
            case 4: #"{"x-a":1e308,"x-b":null}"#
            default: #"["x"]"#
            }
            members.append(Array(#""headers":"#.utf8) + Array(headers.utf8))
        }
        if chance(90) {
            members.append(Array(#""query":"#.utf8) + (chance(70) ? chatBody(model: Array(#""gpt-5-mini""#.utf8)) : anyJSON()))
        }
        if chance(40) {
            var config: [String] = []
            let timeout = pick(Self.numberTexts + ["1", "50"])
            if chance(50) { config.append(#""requestTimeout":\#(chance(50) ? "\"\(timeout)\"" : timeout)"#) }
            let shortTimeout = config.contains { $0.contains("requestTimeout") }
            if chance(50), !shortTimeout { config.append(#""maxAttempts":\#(pick(["1", "5", "6", "\"2\"", "-1", "9223372036854775807", "null"]))"#) }
            if chance(50) { config.append(#""retryDelay":\#(pick(["0", "5000", "5001", "-1", "1e308", "\"x\""]))"#) }
            if chance(50) { config.append(#""backoff":\#(pick(["\"linear\"", "\"nope\"", "1", "[]"]))"#) }
            if chance(10) { config.append(#""nope":1"#) }
            members.append(Array(#""config":{"#.utf8) + Array(config.joined(separator: ",").utf8) + [0x7D])
        }
        return Self.joined(members, open: 0x7B, close: 0x7D)
    }

    mutating func adminRequest() -> (String, String, [UInt8]) {
        func encoded(_ s: String) -> String { Self.percentEncoded(s) }
        switch int(10) {
        case 0..<6:
            var parameters: [String] = []
            let values = Self.numberTexts + ["1", "1000", "1001", "1000000", "1000001", "1h", "15m", "2d", "9999999999999999999d", "1e308s", "0.0001ms", "-1h", "nan"]
            if chance(60) { parameters.append("page=" + encoded(pick(values))) }
            if chance(50) { parameters.append("per_page=" + encoded(pick(values))) }
            if chance(40) { parameters.append("since=" + encoded(pick(values))) }
            if chance(30) { parameters.append("order_by=" + encoded(pick(["created_at", "cost", "tokens_in", "nope", "", "created_at;DROP TABLE logs"]))) }
            if chance(30) { parameters.append("direction=" + encoded(pick(["asc", "desc", "ASC", "sideways", ""]))) }
            for _ in 0..<(chance(10) ? 25 : int(4)) {
                let field = pick(["model", "provider", "status_code", "cached", "cost", "metadata.user", "metadata.", "metadata.a'b", "nope", "created_at", "duration"])
                let op = pick(["eq", "neq", "contains", "lt", "gt", "like", ""])
                let value = pick(values + ["openai", "true", "x'; DROP TABLE request_logs; --", "%", "_", "\\"])
                parameters.append("filter=" + encoded("\(field):\(op):\(value)"))
            }
            if chance(5) { parameters.append(pick(["page", "page=", "=", "%zz", "page=1&page=2"])) }
            // The dashboard's overview takes `since` and `bucket` the same way.
            let stats = chance(25)
            if stats, chance(60) { parameters.append("bucket=" + encoded(pick(values))) }
            return ((stats ? "/admin/stats" : "/admin/logs") + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&")), "GET", [])
        case 6..<8:
            let id = pick(["nope", "0", String(repeating: "9", count: 4000), "%00", "..", "a'b", "%F0%9F%98%80"])
            let suffix = pick(["", "", "/request", "/response", "/x", "/request/x"])
            let body = chance(50) ? Array(pick([#"{"feedback":1}"#, #"{"feedback":2}"#, #"{"score":1e308}"#, #"{"score":"x"}"#, #"{"metadata":{"a":{"b":1}}}"#, #"{"nope":1}"#, "[]"]).utf8) : anyJSON()
            return ("/admin/logs/" + id + suffix, chance(50) ? "PATCH" : "GET", body)
        default:
            let (path, method) = pick([("/admin/routes", "GET"), ("/admin/reload", "POST"), ("/admin", "GET"), ("/admin/", "GET"), ("/admin/%2e%2e/logs", "GET"), ("/admin/logs/", "GET"), ("/admin/nope", "GET"),
                ("/admin/limits", "GET"), ("/admin/limits", "DELETE"), ("/admin/routes/fuzz", "GET"), ("/admin/routes/fuzz?version=%00", "GET"),
                ("/admin/routes/%2e%2e", "GET"), ("/dashboard", "GET"), ("/dashboard/app.js", "GET"), ("/dashboard/%2e%2e/admin/logs", "GET"), ("/dashboard", "PUT"),
            ])
            return (path, method, [])
        }
    }
}

// MARK: - The client

struct FuzzResponse: Sendable, CustomStringConvertible {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// The server said it closes the connection.
    var closes: Bool

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }

    var description: String {
        let text = String(decoding: body.prefix(400), as: UTF8.self).debugDescription
        return "\(status) [\(headers.map { "\($0.0): \($0.1.prefix(80))" }.joined(separator: "; "))] \(text)\(body.count > 400 ? "…(\(body.count) bytes)" : "")"
    }
}

enum FuzzOutcome: Sendable, CustomStringConvertible {
    case response(FuzzResponse)
    /// The connection closed before a whole response arrived.
    case closed(partial: [UInt8])
    /// Nothing more arrived within the read timeout: a hang.
    case timedOut(partial: [UInt8])
    case connectFailed(String)

    var response: FuzzResponse? { if case .response(let r) = self { r } else { nil } }

    var description: String {
        switch self {
        case .response(let r): "\(r)"
        case .closed(let partial): "connection closed without a whole response (\(partial.count) bytes: \(String(decoding: partial.prefix(200), as: UTF8.self).debugDescription))"
        case .timedOut(let partial): "no answer within the read timeout (\(partial.count) bytes received)"
        case .connectFailed(let reason): "connect failed: \(reason)"
        }
    }
}

/// A blocking TCP socket to 127.0.0.1. The fuzz's workers each run on a thread of their own
/// (not on Dispatch's pool, which grows only slowly when its threads block in `recv`).
struct BlockingSocket {
    let fd: Int32

    static func connect(port: Int, receiveTimeout: Int) -> BlockingSocket? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            Glibc.close(fd)
            return nil
        }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return BlockingSocket(fd: fd)
    }

    /// False when the peer has gone.
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    enum Read { case bytes(Int), closed, timedOut }

    func receive(into buffer: inout [UInt8]) -> Read {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[..<n])
            return .bytes(n)
        }
        if n == 0 { return .closed }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .timedOut : .closed
    }

    func close() { Glibc.close(fd) }
}

/// An HTTP/1.1 client on one keep-alive connection that sends requests as raw bytes (any method,
/// any target, any header byte) and parses the answers (content-length, chunked, or to close).
/// Synchronous: one per worker thread.
final class FuzzClient {
    let port: Int
    private var socket: BlockingSocket?
    private var buffer: [UInt8] = []
    private(set) var staleRetries = 0

    init(port: Int) { self.port = port }

    deinit { socket?.close() }

    func close() {
        socket?.close()
        socket = nil
    }

    func send(_ fuzzCase: FuzzCase) -> FuzzOutcome {
        let reused = socket != nil
        let outcome = sendOnce(fuzzCase)
        // A keep-alive connection the server closed between requests: sent again on a fresh one (as
        // any client does); a request that closes a fresh connection too is reported.
        if reused, case .closed(let partial) = outcome, partial.isEmpty {
            staleRetries += 1
            return sendOnce(fuzzCase)
        }
        return outcome
    }

    private func sendOnce(_ fuzzCase: FuzzCase) -> FuzzOutcome {
        if socket == nil {
            guard let fresh = BlockingSocket.connect(port: port, receiveTimeout: 15) else { return .connectFailed("errno \(errno)") }
            socket = fresh
            buffer = []
        }
        guard let socket else { return .connectFailed("no connection") }
        _ = socket.send(fuzzCase.wire)
        let outcome = read(socket, head: fuzzCase.method == "HEAD")
        switch outcome {
        case .response(let r) where !r.closes:
            break
        default:
            close()
        }
        return outcome
    }

    private enum Fill { case more, closed, timedOut }

    private func fill(_ socket: BlockingSocket) -> Fill {
        switch socket.receive(into: &buffer) {
        case .bytes: .more
        case .closed: .closed
        case .timedOut: .timedOut
        }
    }

    private func failure(_ end: Fill) -> FuzzOutcome {
        end == .timedOut ? .timedOut(partial: buffer) : .closed(partial: buffer)
    }

    /// The index of the first CRLF at or after `from`, if any.
    private func lineEnd(from: Int = 0) -> Int? {
        guard buffer.count >= from + 2 else { return nil }
        for i in from..<(buffer.count - 1) where buffer[i] == 13 && buffer[i + 1] == 10 { return i }
        return nil
    }

    private func read(_ socket: BlockingSocket, head isHead: Bool) -> FuzzOutcome {
        // The head: up to the first empty line.
        var headEnd: Int?
        var searchFrom = 0
        while headEnd == nil {
            var at = searchFrom
            while let end = lineEnd(from: at) {
                if end + 3 < buffer.count, buffer[end + 2] == 13, buffer[end + 3] == 10 { headEnd = end; break }
                at = end + 2
            }
            if headEnd == nil {
                searchFrom = max(0, buffer.count - 3)
                let end = fill(socket)
                if end != .more { return failure(end) }
            }
        }
        let headText = String(decoding: buffer[..<headEnd!], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else { return .closed(partial: buffer) }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]).lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        buffer.removeFirst(headEnd! + 4)
        func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
        var closes = header("connection")?.lowercased().contains("close") == true || statusLine[0] == "HTTP/1.0"
        var body: [UInt8] = []
        if isHead || status == 204 || status == 304 || (100..<200).contains(status) {
            // No body.
        } else if header("transfer-encoding")?.lowercased().contains("chunked") == true {
            while true {
                var sizeEnd = lineEnd()
                while sizeEnd == nil {
                    let end = fill(socket)
                    if end != .more { return failure(end) }
                    sizeEnd = lineEnd()
                }
                let sizeText = String(decoding: buffer[..<sizeEnd!], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return .closed(partial: buffer) }
                buffer.removeFirst(sizeEnd! + 2)
                if size == 0 {
                    // Trailers, then the empty line.
                    while true {
                        var end = lineEnd()
                        while end == nil {
                            let e = fill(socket)
                            if e != .more { return failure(e) }
                            end = lineEnd()
                        }
                        buffer.removeFirst(end! + 2)
                        if end == 0 { break }
                    }
                    break
                }
                while buffer.count < size + 2 {
                    let end = fill(socket)
                    if end != .more { return failure(end) }
                }
                body += buffer[..<size]
                buffer.removeFirst(size + 2)
            }
        } else if let length = header("content-length").flatMap(Int.init) {
            while buffer.count < length {
                let end = fill(socket)
                if end != .more { return failure(end) }
            }
            body = Array(buffer[..<length])
            buffer.removeFirst(length)
        } else {
            // Delimited by the close.
            while true {
                let end = fill(socket)
                if end == .timedOut { return .timedOut(partial: buffer) }
                if end == .closed { break }
            }
            body = buffer
            buffer = []
            closes = true
        }
        return .response(FuzzResponse(status: status, headers: headers, body: body, closes: closes))
    }
}

/// Runs `body` on a thread of its own and waits for it without blocking the caller's executor.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

// MARK: - The oracle

enum FuzzOracle {
    /// A gateway error says what was wrong without echoing the client's value whole.
    static let maxErrorBytes = 4096

    /// Nil when the outcome satisfies the property, else why not.
    static func check(_ c: FuzzCase, _ outcome: FuzzOutcome) -> String? {
        guard case .response(let r) = outcome else {
            if c.notHTTP, case .closed = outcome { return nil }
            return "no answer: \(outcome)"
        }
        // The HTTP layer's answer to bytes that are not HTTP: a bare 400, and the connection closes.
        if c.notHTTP, r.status == 400, r.closes, r.body.isEmpty { return nil }
        guard (100...599).contains(r.status) else { return "status \(r.status)" }
        if r.status >= 500 {
            guard (r.status == 502 || r.status == 504), c.endpoint == .compat || c.endpoint == .passthrough || c.endpoint == .universal else {
                return "server error \(r.status)"
            }
            if let noBody = bodilessAnswer(c, r) { return noBody.isEmpty ? nil : noBody }
            guard let e = envelope(r) else { return "\(r.status) without the gateway's error envelope" }
            if r.status == 504 && (e.code != 2044 || !c.mayTimeOut) { return "504 with code \(e.code) for a request without a short timeout" }
            if r.status == 502 && e.code != 2005 { return "502 with code \(e.code)" }
            return nil
        }
        guard (400..<500).contains(r.status) else { return nil }
        if let noBody = bodilessAnswer(c, r) { return noBody.isEmpty ? nil : noBody }
        if let e = envelope(r) {
            if r.body.count > maxErrorBytes { return "error envelope of \(r.body.count) bytes (code \(e.code)): a client value echoed whole" }
            return nil
        }
        if isEnvelopeLike(r) { return "a malformed error envelope" }
        // Not the gateway's own error: it must be an upstream answer, on an endpoint that has one.
        guard r.header("cf-aig-provider") != nil else { return "a \(r.status) that is neither the gateway's envelope nor an upstream answer" }
        switch c.endpoint {
        case .compat:
            guard let json = try? JSONValue.parse(bytes: r.body), json["error"]?["message"]?.stringValue != nil else {
                return "an upstream \(r.status) on compat not in OpenAI's error shape"
            }
            // The fake's errors are short: a long one is the gateway's translation echoing a value.
            if r.body.count > maxErrorBytes { return "an OpenAI-shaped error of \(r.body.count) bytes: a client value echoed whole" }
            return nil
        case .passthrough, .universal:
            return nil
        case .admin, .other:
            return "an upstream-looking \(r.status) on \(c.endpoint.rawValue)"
        }
    }

    /// Answers that cannot carry a body: to HEAD, and to CONNECT (NIO's encoder writes those
    /// without one, and the connection must then close: nothing after a CONNECT head is parsed).
    /// Nil for other requests; "" when acceptable; else why not.
    static func bodilessAnswer(_ c: FuzzCase, _ r: FuzzResponse) -> String? {
        switch c.method {
        case "HEAD": return ""
        case "CONNECT": return r.closes ? "" : "an answer to CONNECT that leaves the connection open"
        default: return nil
        }
    }

    /// Whether the answer can only be right if the upstream had the request: a 502, or a 4xx that
    /// is not the gateway's envelope (checked once the run is over, against what the fake received).
    static func needsUpstream(_ c: FuzzCase, _ outcome: FuzzOutcome) -> Bool {
        guard let r = outcome.response, bodilessAnswer(c, r) == nil else { return false }
        return r.status == 502 || ((400..<500).contains(r.status) && envelope(r) == nil && !(c.notHTTP && r.body.isEmpty))
    }

    /// The codes of the gateway's own OpenAI-shaped 400s on compat: a request it cannot translate.
    static let translationCodes: Set<String> = ["unsupported_parameter", "unsupported_value", "invalid_value"]

    /// A 502, or an error in the upstream's shape, is legitimate only when the upstream had the
    /// request (the fake recorded it); on compat an OpenAI-shaped 400 may also be the gateway's
    /// translation refusing the request before any upstream call.
    static func upstreamCheck(_ c: FuzzCase, _ outcome: FuzzOutcome, reached: Set<Int>) -> String? {
        guard needsUpstream(c, outcome), let r = outcome.response, !reached.contains(c.index) else { return nil }
        if r.status == 502 { return "502 although the upstream never received the request" }
        if c.endpoint == .compat, let code = (try? JSONValue.parse(bytes: r.body))?["error"]?["code"]?.stringValue, translationCodes.contains(code) { return nil }
        return "a \(r.status) in the upstream's shape although the upstream never received the request"
    }

    struct Envelope { let code: Int }

    static func envelope(_ r: FuzzResponse) -> Envelope? {
        guard r.header("content-type")?.hasPrefix("application/json") == true,
              let json = try? JSONValue.parse(bytes: r.body), json["success"] == .bool(false),
              let first = json["error"]?.arrayValue?.first, let code = first["code"]?.numberValue, first["message"]?.stringValue != nil,
              json["name"] == .string("AiGatewayError"), json["httpCode"]?.numberValue == Double(r.status), json["internalCode"]?.numberValue == code,
              json["message"]?.stringValue != nil
        else { return nil }
        return Envelope(code: Int(code))
    }

    static func isEnvelopeLike(_ r: FuzzResponse) -> Bool {
        String(decoding: r.body.prefix(4096), as: UTF8.self).contains("AiGatewayError")
    }
}

/// Counts and verdicts of a run.
final class FuzzTally: Sendable {
    struct State {
        var count = 0
        var histogram: [String: Int] = [:]
        var byEndpoint: [String: Int] = [:]
        var violations: [(Int, String)] = []
        /// Answers that are right only if the upstream had the request.
        var needUpstream: [(FuzzCase, FuzzOutcome)] = []
        var staleRetries = 0
        var slowest: [(Duration, String)] = []
    }

    private let state = Mutex(State())

    func record(_ c: FuzzCase, _ outcome: FuzzOutcome, verdict: String?, took: Duration = .zero) {
        let key: String = switch outcome {
        case .response(let r): c.notHTTP && r.status == 400 && r.closes && r.body.isEmpty ? "400(http layer)" : String(r.status)
        case .closed: "closed"
        case .timedOut: "timed out"
        case .connectFailed: "connect failed"
        }
        let unsafeOutcome = outcome
        state.withLock {
            $0.count += 1
            $0.histogram[key, default: 0] += 1
            $0.byEndpoint[c.endpoint.rawValue, default: 0] += 1
            if let verdict { $0.violations.append((c.index, "\(verdict)\n  \(c)\n  answer: \(unsafeOutcome)")) }
            if FuzzOracle.needsUpstream(c, unsafeOutcome) { $0.needUpstream.append((c, unsafeOutcome)) }
            $0.slowest.append((took, "\(took) \(String(describing: c).prefix(300)) -> \(String(describing: unsafeOutcome).prefix(200))"))
            if $0.slowest.count > 20 { $0.slowest.sort { $0.0 > $1.0 }; $0.slowest.removeLast($0.slowest.count - 5) }
        }
    }

    func addStaleRetries(_ n: Int) { state.withLock { $0.staleRetries += n } }

    struct Report {
        var count: Int
        var histogramText: String
        var endpointText: String
        var violations: [String]
        var staleRetries: Int
        var slowest: [String]
        var upstreamShaped: Int
    }

    func finish(reached: Set<Int>) -> Report {
        state.withLock { s in
            var violations = s.violations
            for (c, outcome) in s.needUpstream {
                if let v = FuzzOracle.upstreamCheck(c, outcome, reached: reached) { violations.append((c.index, "\(v)\n  \(c)\n  answer: \(outcome)")) }
            }
            violations.sort { $0.0 < $1.0 }
            let histogram = s.histogram.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            let endpoints = s.byEndpoint.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            return Report(count: s.count, histogramText: histogram, endpointText: endpoints, violations: violations.map(\.1), staleRetries: s.staleRetries,
                slowest: s.slowest.sorted { $0.0 > $1.0 }.prefix(5).map(\.1), upstreamShaped: s.needUpstream.count)
        }
    }
}
