import SwitchyardCore
import SwitchyardProviders

/// Everything `switchyard.yaml` can say (SPEC §3), with the defaults of a missing file.
public struct GatewayConfiguration: Sendable {
    public struct Listen: Sendable, Hashable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8787
        /// `listen.allow_unauthenticated`: start on a non-loopback host although no gateway
        /// requires a token and no admin token is set (`serve` refuses otherwise).
        public var allowUnauthenticated = false
        public init(host: String = "127.0.0.1", port: Int = 8787) {
            self.host = host
            self.port = port
        }
    }

    public struct RateLimit: Sendable, Hashable {
        public enum Technique: String, Sendable, Hashable, CaseIterable { case sliding, fixed }
        public var limit: Int
        public var per: Seconds
        public var technique: Technique
        public init(limit: Int, per: Seconds, technique: Technique = .sliding) {
            self.limit = limit
            self.per = per
            self.technique = technique
        }
    }

    public struct Gateway: Sendable, Hashable {
        public var authentication = false
        public var tokens: [String] = []
        public var collectLogs = true
        /// Seconds; 0 = off unless a request asks.
        public var cacheTTL: Seconds = 0
        public var rateLimit: RateLimit?
        /// `open` or `closed`: this gateway's rate limit while the shared database is down and the
        /// instance's leases are used up; nil = `cluster.on_database_down`.
        public var onDatabaseDown: String?
        public init(authentication: Bool = false, tokens: [String] = [], collectLogs: Bool = true, cacheTTL: Seconds = 0, rateLimit: RateLimit? = nil) {
            self.authentication = authentication
            self.tokens = tokens
            self.collectLogs = collectLogs
            self.cacheTTL = cacheTTL
            self.rateLimit = rateLimit
        }
    }

    /// Extras beyond SPEC §3, documented in docs/configuration.md.
    public struct Limits: Sendable, Hashable {
        public var maxBodyBytes = 10 << 20
        /// Time to first byte when the request sends no `cf-aig-request-timeout`.
        public var requestTimeout: Duration = .seconds(120)
        /// How long in-flight requests and streams may run after SIGTERM/SIGINT.
        public var shutdownGrace: Duration = .seconds(30)
        /// Pooled keep-alive connections per upstream host (a soft limit: requests beyond it wait).
        public var upstreamConnectionsPerHost = 1024
        /// A new connection must deliver a complete request head within this.
        public var headerReadTimeout: Duration = .seconds(30)
        /// From a request head to the end of its body.
        public var bodyReadTimeout: Duration = .seconds(60)
        /// A keep-alive connection waiting for its next request head is closed after this.
        public var idleTimeout: Duration = .seconds(60)
        /// Open client connections; beyond it new ones wait in the listen backlog.
        public var maxConnections = 4096
        /// Steps of one universal-endpoint request (400 beyond).
        public var maxUniversalSteps = 10
        /// Methods the provider-native passthrough forwards (405 for others).
        public var passthroughMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
        /// Distinct limit counters (rate windows and budgets) held at once; new keys beyond it are refused (429).
        public var maxLimitKeys = 100_000
        /// Silence between two reads of an upstream answer (head or body) before it is abandoned.
        public var upstreamReadTimeout: Duration = .seconds(120)
        public init() {}
    }

    public var listen = Listen()
    public var routesDirectory = "routes"
    public var storage = "sqlite:switchyard.sqlite"
    /// Always contains `default`.
    public var gateways: [String: Gateway] = ["default": Gateway()]
    public var providers: [String: ProviderSettings] = [:]
    public var pricing: [String: ModelPrice] = [:]
    public var limits = Limits()
    /// `cluster:`: limits shared through leases when `storage` is PostgreSQL.
    public struct Cluster: Sendable, Equatable {
        /// Lease size as a fraction of each limit (`lease_fraction`, 0 < f ≤ 1).
        public var leaseFraction = 0.05
        /// Smallest lease of a rate limit counted in requests (`min_lease`).
        public var minimumLease = 1
        /// A lease not renewed for this long returns to the pool (`lease_ttl`).
        public var leaseTTL: Seconds = 15
        /// Usage reports (which renew the leases) this often (`report_interval`).
        public var reportInterval: Seconds = 1
        /// `open` or `closed` (`on_database_down`).
        public var onDatabaseDown = "closed"
        /// Request-log batches the database refused wait here (`spool_directory`).
        public var spoolDirectory = "switchyard-spool"
        /// Beyond this many bytes of spooled batches new ones are dropped (`spool_max_bytes`).
        public var spoolMaxBytes = 256 << 20
        public init() {}
    }
    public var cluster = Cluster()
    /// `admin`, `logs`, `cache` (Controls/ControlsConfiguration.swift).
    public var controls = ControlsConfiguration()
    /// `telemetry`: OpenTelemetry traces, off unless `telemetry.otlp.endpoint` is set.
    public var telemetry = Telemetry()

    /// `telemetry:` (docs/observability.md). Read when the process starts; a reload keeps the old values.
    public struct Telemetry: Sendable, Hashable {
        /// OTLP/HTTP traces URL, used as given (a collector's is `http://host:4318/v1/traces`); nil = tracing off.
        public var endpoint: String?
        /// Sent with every export (an `authorization` for a hosted collector). Never logged.
        public var headers: [String: String] = [:]
        public var encoding: Encoding = .protobuf
        /// The share of new traces recorded, 0...1; a request with a sampled parent (`traceparent`) follows its parent.
        public var samplingRatio: Double = 1
        public var serviceName = "switchyard"
        /// Finished spans waiting for export; beyond it spans are dropped and counted.
        public var maxQueueSize = 2048
        public var maxExportBatchSize = 512
        public var scheduleDelay: Duration = .seconds(5)
        public var exportTimeout: Duration = .seconds(10)
        /// Request and response bodies (redacted, cut to `logs.max_payload_bytes`) on the request span.
        public var captureContent = false

        public enum Encoding: String, Sendable, Hashable { case protobuf, json }

        public var enabled: Bool { endpoint != nil }
        public init() {}
    }

    public init() {}
}
