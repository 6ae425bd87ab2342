import ArgumentParser
import Foundation
import SwitchyardFakeUpstream

@main
struct FakeUpstreamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-upstream",
        abstract: "A fake AI provider (OpenAI, Anthropic, Gemini, Workers AI wire formats) with fault knobs.",
        discussion: "Per-request headers x-fake-* override these defaults."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on; 0 lets the OS choose.") var port = 0
    @Option(name: .customLong("latency-ms"), help: "Delay before the first response byte.") var latencyMs = 0
    @Option(name: .customLong("chunk-interval-ms"), help: "Delay between stream events.") var chunkIntervalMs = 0
    @Option(help: "Content pieces per streamed answer.") var chunks = 3
    @Option(help: "Answer every request with this HTTP status and the provider's error body.") var status: Int?
    @Option(name: .customLong("retry-after"), help: "Retry-After value sent with error statuses.") var retryAfter: String?
    @Flag(help: "Send malformed JSON bodies / SSE events.") var malformed = false
    @Option(help: "Reset connections: before-first-byte or mid-stream.") var reset: String?
    @Option(name: .customLong("reset-after-chunks"), help: "Stream events written before a mid-stream reset.") var resetAfterChunks = 1
    @Option(name: .customLong("stream-error-after-chunks"), help: "Send the provider's in-stream error event after this many stream events.")
    var streamErrorAfterChunks: Int?
    @Option(help: "Answer every request 400 with this cause in the provider's error body: context-length or content-filter.") var error: String?
    @Flag(name: .customLong("no-usage"), help: "Omit usage from responses.") var noUsage = false
    @Flag(name: .customLong("tool-call"), help: "Answer with a tool call whenever the request offers tools.") var toolCall = false
    @Option(
        name: .customLong("rule"),
        help: "Per-model behaviour, 'MODEL knob=value,...' (knobs as the x-fake-* headers without the prefix, plus fail-first and fail-status). Repeatable."
    ) var rules: [String] = []
    @Flag(help: "Mark answers as simulated (\"[simulated] \" prefix).") var simulated = false

    func validate() throws {
        if let reset, FakeBehavior.Reset(rawValue: reset) == nil {
            throw ValidationError("--reset must be before-first-byte or mid-stream")
        }
        if let error, FakeBehavior.ErrorCause(rawValue: error) == nil {
            throw ValidationError("--error must be context-length or content-filter")
        }
        if let status, !(100...599).contains(status) { throw ValidationError("--status must be an HTTP status") }
        if chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        for rule in rules {
            do { _ = try FakeBehavior.rule(rule) } catch { throw ValidationError("\(error)") }
        }
    }

    func run() async throws {
        let behavior = FakeBehavior(
            latencyMs: latencyMs, chunkIntervalMs: chunkIntervalMs, chunks: chunks, status: status,
            retryAfter: retryAfter, malformed: malformed, reset: reset.flatMap(FakeBehavior.Reset.init(rawValue:)),
            resetAfterChunks: resetAfterChunks, usage: !noUsage, toolCall: toolCall,
            streamErrorAfterChunks: streamErrorAfterChunks, error: error.flatMap(FakeBehavior.ErrorCause.init(rawValue:))
        )
        var perModel: [String: FakeBehavior] = [:]
        for rule in rules {
            let parsed = try FakeBehavior.rule(rule, base: behavior)
            perModel[parsed.model] = parsed.behavior
        }
        let upstream = try await FakeUpstream.start(FakeUpstreamConfiguration(
            host: host, port: port, defaults: behavior, perModel: perModel, simulatedMarker: simulated,
            recordRequests: false
        ))
        let (stop, continuation) = AsyncStream.makeStream(of: Int32.self)
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield(signalNumber) }
            source.resume()
            sources.append(source)
        }
        // FileHandle writes are unbuffered, so a parent process reading the pipe sees the line at once.
        FileHandle.standardOutput.write(Data("fake-upstream listening on \(upstream.baseURL)\n".utf8))
        for await _ in stop { break }
        sources.forEach { $0.cancel() }
        try await upstream.shutdown()
    }
}
