import SwitchyardCore

/// The top-level `admin`, `logs` and `cache` sections of `switchyard.yaml` (docs/configuration.md).
public struct ControlsConfiguration: Sendable, Hashable {
    /// `admin.token`: when set, `/admin/*` needs `Authorization: Bearer <token>`.
    public var adminToken: String?
    /// `logs.retention.max_rows` / `max_age` (seconds); nil = unbounded.
    public var logMaxRows: Int? = 1_000_000
    public var logMaxAge: Seconds? = 30 * 86400
    /// `logs.flush_interval`: the most a `kill -9` can lose.
    public var logFlushInterval: Seconds = 0.2
    /// `logs.queue_capacity`: records waiting for the writer; beyond it new records are dropped and counted.
    public var logQueueCapacity = 10_000
    /// `logs.queue_max_bytes`: payload bytes waiting for the writer; beyond it new records are dropped and counted.
    public var logQueueMaxBytes = 64 << 20
    /// `metrics.token`: when set, `/metrics` needs `Authorization: Bearer <token>`.
    public var metricsToken: String?
    /// `logs.max_payload_bytes`: longer request/response bodies are cut in the log record.
    public var logMaxPayloadBytes = 256 << 10
    /// `cache.max_bytes`: the in-process response cache's size (LRU beyond it).
    public var cacheMaxBytes = 64 << 20

    public init() {}
}
