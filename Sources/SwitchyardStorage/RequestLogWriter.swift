import Logging
import Synchronization
import SwitchyardCore

/// Takes request-log records off the request path: `submit` appends to a bounded in-memory queue
/// and never waits; `run` writes the queue in batches every `flushInterval`.
///
/// A full queue drops the new record and counts it in `dropped` (never blocks a request).
/// Graceful shutdown (cancelling `run`) writes everything accepted before it returns; a `kill -9`
/// loses at most what was accepted within the last `flushInterval`.
public final class RequestLogWriter: Sendable {
    public struct Retention: Sendable {
        public var maxRows: Int?
        /// Seconds.
        public var maxAge: Double?
        public init(maxRows: Int? = 1_000_000, maxAge: Double? = 30 * 86400) {
            self.maxRows = maxRows
            self.maxAge = maxAge
        }
    }

    /// A record's request and response bodies, kept as the caller's buffers and turned into the
    /// record's text (cut, redacted) by the writer when it writes the batch: that work is off the
    /// request's path, and skipped for records the full queue drops.
    public struct Payload: Sendable {
        /// Bytes the buffers hold (counted against `maxBytes`).
        public let weight: Int
        public let render: @Sendable () -> (request: String?, response: String?)

        public init(weight: Int, render: @escaping @Sendable () -> (request: String?, response: String?)) {
            self.weight = weight
            self.render = render
        }
    }

    struct Entry {
        var record: RequestLogRecord
        var payload: Payload?
        let weight: Int

        /// The record as it is stored: with its payload rendered.
        consuming func rendered() -> RequestLogRecord {
            if let payload {
                (record.requestBody, record.responseBody) = payload.render()
            }
            return record
        }
    }

    struct State {
        var queue: [Entry] = []
        /// What the queued records' variable-size fields weigh (`RequestLogWriter.weight`).
        var bytes = 0
        var dropped = 0
        var written = 0
    }

    private let state = Mutex(State())
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>
    public let store: any RequestLogStore
    public let capacity: Int
    /// Bytes of queued records (bodies, metadata, strings) beyond which new records are dropped.
    public let maxBytes: Int
    public let batchSize: Int
    public let flushInterval: Swift.Duration
    public let retention: Retention
    private let logger: Logger
    private let now: @Sendable () -> Double

    public init(
        store: any RequestLogStore, capacity: Int = 10_000, maxBytes: Int = 64 << 20, batchSize: Int = 500,
        flushInterval: Swift.Duration = .milliseconds(200), retention: Retention = Retention(), logger: Logger,
        now: @escaping @Sendable () -> Double
    ) {
        self.store = store
        self.capacity = capacity
        self.maxBytes = maxBytes
        self.batchSize = batchSize
        self.flushInterval = flushInterval
        self.retention = retention
        self.logger = logger
        self.now = now
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a record; returns false when the queue was full and the record was dropped.
    @discardableResult
    public func submit(_ record: RequestLogRecord, payload: Payload? = nil) -> Bool {
        let weight = Self.weight(record) + (payload?.weight ?? 0)
        let (accepted, depth) = state.withLock { s -> (Bool, Int) in
            guard s.queue.count < capacity, s.bytes + weight <= maxBytes || s.queue.isEmpty else {
                s.dropped += 1
                return (false, s.queue.count)
            }
            s.bytes += weight
            s.queue.append(Entry(record: record, payload: payload, weight: weight))
            return (true, s.queue.count)
        }
        if accepted, depth >= batchSize { wake.yield() }
        return accepted
    }

    public var queueDepth: Int { state.withLock { $0.queue.count } }
    public var queueBytes: Int { state.withLock { $0.bytes } }

    /// A record's size in the queue, approximately: its bodies and strings plus a fixed part.
    static func weight(_ r: RequestLogRecord) -> Int {
        512 + (r.requestBody?.utf8.count ?? 0) + (r.responseBody?.utf8.count ?? 0) + r.path.utf8.count + r.model.utf8.count
            + (r.userAgent?.utf8.count ?? 0) + r.metadata.count * 64
    }
    public var dropped: Int { state.withLock { $0.dropped } }
    public var written: Int { state.withLock { $0.written } }

    /// Writes everything queued now.
    public func flush() async {
        while true {
            let entries = state.withLock { s -> [Entry] in
                let n = min(s.queue.count, batchSize)
                let b = Array(s.queue.prefix(n))
                s.queue.removeFirst(n)
                s.bytes = s.queue.isEmpty ? 0 : max(0, s.bytes - b.reduce(0) { $0 + $1.weight })
                return b
            }
            if entries.isEmpty { return }
            let batch = entries.map { $0.rendered() }
            do {
                // Shielded from cancellation: shutdown cancels `run`, and what was accepted must
                // still be written.
                let store = self.store
                try await Task { try await store.insert(batch) }.value
                state.withLock { $0.written += batch.count }
            } catch {
                logger.error("could not write request logs; batch dropped", metadata: ["records": "\(batch.count)", "error": "\(error)"])
                state.withLock { $0.dropped += batch.count }
            }
        }
    }

    /// Flushes every `flushInterval` (or sooner when a batch fills) until cancelled, then flushes
    /// what is left. Prunes by retention about once a minute.
    public func run() async {
        var lastPrune = -Double.infinity
        wake.yield()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [wake] in
                // Ticks wake the loop even when no batch fills.
                while !Task.isCancelled {
                    do { try await Task.sleep(for: self.flushInterval) } catch { break }
                    wake.yield()
                }
            }
            for await _ in wakes {
                if Task.isCancelled { break }
                await flush()
                let t = now()
                if t - lastPrune >= 60 {
                    lastPrune = t
                    do { _ = try await store.prune(maxRows: retention.maxRows, maxAge: retention.maxAge, now: t) } catch {
                        logger.error("could not prune request logs", metadata: ["error": "\(error)"])
                    }
                }
            }
            group.cancelAll()
        }
        await flush()
    }

    /// Ends `run` after its final flush (for callers that do not cancel the task).
    public func finish() {
        wake.finish()
    }
}
