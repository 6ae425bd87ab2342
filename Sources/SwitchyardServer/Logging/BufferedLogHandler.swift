#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import ServiceLifecycle
import Synchronization

/// Where the gateway's log lines go: lines are appended to a buffer in memory and written to the
/// file descriptor in one `write` per batch: by `LogFlushService` every few milliseconds, at once
/// for warnings and worse, when the buffer passes 64 KiB, and when the service stops. swift-log's
/// `StreamLogHandler` writes and flushes every line on the request's path instead (one syscall
/// per request; bench/results/PROFILE.md). A crash loses at most one flush interval of lines.
public final class LogOutput: Sendable {
    public static let standardOutput = LogOutput(fileDescriptor: 1)

    private let fd: Int32
    private let buffer = Mutex<[UInt8]>([])
    /// Held while writing, so that batches reach the descriptor in the order they were cut.
    private let writing = Mutex<Void>(())
    static let flushThreshold = 64 * 1024

    public init(fileDescriptor: Int32) {
        fd = fileDescriptor
    }

    func append(_ line: String, urgent: Bool) {
        let full = buffer.withLock { b in
            b.append(contentsOf: line.utf8)
            return b.count >= Self.flushThreshold
        }
        if urgent || full { flush() }
    }

    /// Writes everything appended so far.
    public func flush() {
        writing.withLock { _ in
            let batch = buffer.withLock { b -> [UInt8] in
                defer { b.removeAll(keepingCapacity: true) }
                return b
            }
            guard !batch.isEmpty else { return }
            batch.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n > 0 { offset += n } else if n < 0, errno == EINTR { continue } else { return }
                }
            }
        }
    }
}

/// swift-log's `StreamLogHandler` format (`TIMESTAMP LEVEL LABEL: key=value [SOURCE] message`),
/// written through a `LogOutput`.
public struct BufferedLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let output: LogOutput

    public init(label: String, output: LogOutput = .standardOutput, metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider) {
        self.label = label
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // The request line's metadata usually arrives alone: used as it is, not merged into a copy.
        var merged = event.metadata ?? [:]
        if !metadata.isEmpty { merged.merge(metadata) { explicit, _ in explicit } }
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { explicit, _ in explicit } }
        if let error = event.error { merged["error.message"] = "\(error)" }
        var line = Self.timestamp()
        line.reserveCapacity(256)
        line += " "
        line += event.level.rawValue
        if !label.isEmpty {
            line += " "
            line += label
        }
        line += ":"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " "
            line += key
            line += "="
            line += value.description
        }
        line += " ["
        line += event.source
        line += "] "
        line += event.message.description
        line += "\n"
        output.append(line, urgent: event.level >= .warning)
    }

    /// The local time to the second, as `StreamLogHandler` prints it; formatted once per second.
    private static let lastTimestamp = Mutex<(second: Int, text: String)>((-1, ""))

    static func timestamp() -> String {
        var now = time(nil)
        if let cached = lastTimestamp.withLock({ $0.second == now ? $0.text : nil }) { return cached }
        var local = tm()
        guard localtime_r(&now, &local) != nil else { return "<unknown>" }
        var bytes = [CChar](repeating: 0, count: 64)
        strftime(&bytes, bytes.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        let text = bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        lastTimestamp.withLock { $0 = (now, text) }
        return text
    }
}

/// Writes `LogOutput`'s buffer every `interval` while the gateway runs, and once more when it stops.
public struct LogFlushService: Service {
    let output: LogOutput
    let interval: Duration

    public init(output: LogOutput = .standardOutput, interval: Duration = .milliseconds(50)) {
        self.output = output
        self.interval = interval
    }

    public func run() async throws {
        // Listed first in the service group, so it is asked to stop last, after the server has drained.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do { try await Task.sleep(for: interval) } catch { break }
            output.flush()
        }
        output.flush()
    }
}
