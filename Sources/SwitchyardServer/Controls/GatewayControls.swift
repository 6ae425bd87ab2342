import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import SwitchyardCore
import SwitchyardProviders
import SwitchyardStorage
import Synchronization

/// The gateway's controls and observability around the handlers: response cache, durable request
/// log, metrics, admin API and secret redaction. Built once per application.
final class GatewayControls: Sendable {
    /// The `admin`, `logs` and `cache` sections the process started with (sizes and intervals
    /// need a restart; tokens are read from `settings`).
    let configuration: ControlsConfiguration
    let settings: SettingsStore
    let cache: ResponseCache
    /// Nil when the application has no request-log store.
    let writer: RequestLogWriter?
    let metrics: GatewayMetrics
    /// Every configured secret: stored provider keys, gateway tokens, the admin token.
    var redactor: SecretRedactor { settings.current.redactor }
    var prices: PriceTable { settings.current.prices }
    var adminTokens: TokenSet { settings.current.adminTokens }
    /// `metrics.token`; empty = `/metrics` is open.
    var metricsTokens: TokenSet { settings.current.metricsTokens }
    let now: @Sendable () -> Double
    /// `GET /compat/models`: the providers' lists, fetched at most once a minute.
    let modelLists = ModelListCache()
    /// How long a coalesced cache miss waits for its leader before calling the provider itself.
    let followerTimeout: Duration
    /// Limit state whose key counts are published at each scrape.
    let limitStore: InMemoryLimitStore?
    /// Where each request's log line goes (`finish`).
    let logger: Logger
    /// `mirror:` copies being sent (`MirrorSender`).
    let mirrorsInFlight = Atomic<Int>(0)

    init(
        settings: SettingsStore, store: (any RequestLogStore)?,
        registry: PrometheusCollectorRegistry, routeNames: @escaping @Sendable () -> [String], logger: Logger,
        now: @escaping @Sendable () -> Double, limitStore: InMemoryLimitStore? = nil
    ) {
        let configuration = settings.latest.configuration
        self.limitStore = limitStore
        self.logger = logger
        let controls = configuration.controls
        self.configuration = controls
        self.settings = settings
        cache = ResponseCache(maxBytes: controls.cacheMaxBytes)
        writer = store.map {
            RequestLogWriter(
                store: $0, capacity: controls.logQueueCapacity, maxBytes: controls.logQueueMaxBytes, flushInterval: .milliseconds(Int64(controls.logFlushInterval * 1000)),
                retention: .init(maxRows: controls.logMaxRows, maxAge: controls.logMaxAge), logger: logger, now: now
            )
        }
        self.now = now
        followerTimeout = configuration.limits.requestTimeout
        metrics = GatewayMetrics(registry: registry, labels: { settings.current.metricLabels }, routeNames: routeNames)
    }

    /// Services to run with the server: the request-log writer (graceful shutdown flushes it).
    var services: [any Service] {
        writer.map { [RequestLogService(writer: $0)] } ?? []
    }

    // MARK: Request start

    /// Reads the observability headers of a request to a gateway endpoint: `cf-aig-metadata`,
    /// `cf-aig-custom-cost` (400/2043 when malformed) and the credentials to redact.
    func begin(_ request: Request, record: RequestRecord) throws(GatewayError) {
        var customCost: CustomCost?
        if let header = request.headers[.cfAigCustomCost] { customCost = try CustomCost(header: header) }
        if let header = request.headers[.cfAigMetadata], header.utf8.count > RequestMetadata.maxHeaderBytes {
            throw .invalidRequest("cf-aig-metadata is \(header.utf8.count) bytes; the limit is \(RequestMetadata.maxHeaderBytes)")
        }
        let metadata = RequestMetadata.parse(request.headers[.cfAigMetadata])
        let secrets = SecretRedactor.requestSecrets(request)
        record.observation.update {
            $0.customCost = customCost
            $0.metadata = metadata ?? [:]
            $0.metadataIsMalformed = metadata == nil
            $0.requestSecrets = secrets
        }
    }

}

extension HTTPField.Name {
    static let cfAigCustomCost = Self("cf-aig-custom-cost")!
    static let cfAigCollectLog = Self("cf-aig-collect-log")!
    static let cfAigCollectLogPayload = Self("cf-aig-collect-log-payload")!
    static let cfAigCacheTTL = Self("cf-aig-cache-ttl")!
    static let cfAigSkipCache = Self("cf-aig-skip-cache")!
    static let cfAigCacheKey = Self("cf-aig-cache-key")!
    static let cfCacheTTL = Self("cf-cache-ttl")!
    static let cfSkipCache = Self("cf-skip-cache")!
}

extension GatewayControls {
    /// `GET /metrics`: the registry's text, with the log queue's gauges read just before.
    func scrapeMetrics() -> String {
        if let writer { metrics.logQueue(depth: writer.queueDepth, dropped: writer.dropped, written: writer.written) }
        metrics.cache(flights: cache.flightCount, entries: cache.count, bytes: cache.byteCount)
        if let limitStore { metrics.limitKeys(count: limitStore.keyCount, evicted: limitStore.evictedCount, refused: limitStore.refusedNewKeys) }
        return metrics.exposition()
    }

    /// `GET /metrics` with `metrics.token` set needs `Authorization: Bearer <token>` (401/2009).
    func authorizeMetrics(_ request: Request) throws(GatewayError) {
        guard !metricsTokens.isEmpty else { return }
        guard let presented = request.headers[.authorization].flatMap(ClientAuthentication.bearerValue), metricsTokens.contains(presented) else {
            throw .unauthorized("Unauthorized: /metrics needs 'Authorization: Bearer <metrics token>' (metrics.token in switchyard.yaml)")
        }
    }

    var dispatchObserver: DispatchObserver {
        let metrics = self.metrics
        return DispatchObserver(retried: { metrics.retried(provider: $0) }, fellBack: { metrics.fellBack(provider: $0) })
    }
}
