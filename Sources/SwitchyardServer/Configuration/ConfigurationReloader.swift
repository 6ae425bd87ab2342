import Crypto
import Foundation
import Logging
import Synchronization
import SwitchyardCore

/// Where the running configuration came from, so that it can be read again.
public struct ConfigurationSource: Sendable {
    /// The configuration file.
    public var path: String
    /// Read anew on every reload (`${VAR}`).
    public var environment: @Sendable () -> [String: String]
    /// What `serve` applied on top of the file at start (`--host`, `--port`, `--routes`, `--demo`),
    /// applied again to every reloaded file.
    public var adjust: @Sendable (inout GatewayConfiguration) -> Void

    public init(
        path: String, environment: @escaping @Sendable () -> [String: String] = { ProcessInfo.processInfo.environment },
        adjust: @escaping @Sendable (inout GatewayConfiguration) -> Void = { _ in }
    ) {
        self.path = path
        self.environment = environment
        self.adjust = adjust
    }
}

/// Reloads the whole configuration file: parsed and validated in full (environment variables and
/// `${file:...}` secrets read again) before anything switches; a file with errors changes nothing
/// and its located errors are kept for `GET /admin/config`. Settings that only take effect at start
/// (listen address, storage, connection and timeout limits, log queue and cache sizes) keep their
/// running values and are named in the log line and the admin answer.
final class ConfigurationReloader: Sendable {
    struct Status: Sendable {
        var loadedAt: Date
        var lastError: String?
        var lastErrorAt: Date?
        /// Settings changed in the file that the running process cannot apply.
        var restartRequired: [String] = []
        /// Of the file and the secret files it names, as last read.
        var signature: String?
    }

    enum Outcome: Sendable, Equatable {
        case unchanged
        case applied(version: Int, restartRequired: [String])
        case failed(String)
    }

    let source: ConfigurationSource
    let settings: SettingsStore
    /// The configuration the process started with: the values of restart-only settings.
    let started: GatewayConfiguration
    let metrics: GatewayMetrics
    let logger: Logger
    private let state: Mutex<Status>
    /// Serializes reloads (the poller, SIGHUP and `POST /admin/reload` may race).
    private let reloading = Mutex(())

    init(source: ConfigurationSource, settings: SettingsStore, metrics: GatewayMetrics, logger: Logger) {
        self.source = source
        self.settings = settings
        self.started = settings.latest.configuration
        self.metrics = metrics
        self.logger = logger
        let text = try? String(contentsOfFile: source.path, encoding: .utf8)
        state = Mutex(Status(loadedAt: settings.latest.loadedAt, signature: text.map(Self.signature)))
        metrics.configurationVersion(settings.latest.version)
    }

    var status: Status { state.withLock { $0 } }

    /// Reads the file when it changed (always with `force`) and swaps the new settings in.
    @discardableResult
    func reload(force: Bool) -> Outcome {
        reloading.withLock { _ -> Outcome in
            guard let text = try? String(contentsOfFile: source.path, encoding: .utf8) else {
                return fail("\(source.path): error: cannot read the configuration file", signature: nil)
            }
            let signature = Self.signature(text)
            if !force, state.withLock({ $0.signature == signature }) { return .unchanged }
            let environment = source.environment()
            var parsed: GatewayConfiguration
            do {
                parsed = try ConfigurationParser.parse(text, path: source.path, environment: environment)
            } catch {
                return fail("\(error)", signature: signature)
            }
            source.adjust(&parsed)
            let restart = Self.restartOnly(running: started, file: parsed)
            let effective = Self.keepingRestartOnly(parsed, from: started)
            let previous = settings.latest
            let new = GatewaySettings(configuration: effective, environment: environment, version: previous.version + 1, previous: previous)
            settings.replace(new)
            metrics.configurationReloaded(success: true, version: new.version)
            state.withLock {
                $0.signature = signature
                $0.loadedAt = new.loadedAt
                $0.lastError = nil
                $0.lastErrorAt = nil
                $0.restartRequired = restart
            }
            var metadata: Logger.Metadata = ["version": "\(new.version)"]
            if !restart.isEmpty { metadata["restart_required"] = .string(restart.joined(separator: ",")) }
            logger.info("configuration reloaded", metadata: metadata)
            if !restart.isEmpty {
                logger.warning("configuration: these settings changed but take effect only after a restart: \(restart.joined(separator: ", "))")
            }
            return .applied(version: new.version, restartRequired: restart)
        }
    }

    private func fail(_ message: String, signature: String?) -> Outcome {
        // The signature is kept, so a broken file is reported once, not on every poll.
        state.withLock {
            if let signature { $0.signature = signature }
            $0.lastError = message
            $0.lastErrorAt = Date()
        }
        metrics.configurationReloaded(success: false, version: settings.latest.version)
        logger.error("configuration not reloaded; the previous one keeps serving: \(message)")
        return .failed(message)
    }

    /// The file's text and the contents of every `${file:...}` it names: a rotated secret file is a change.
    static func signature(_ text: String) -> String {
        var hasher = SHA256()
        hasher.update(data: Data(text.utf8))
        for path in ConfigurationParser.secretFiles(in: text) {
            hasher.update(data: Data([0]))
            hasher.update(data: (try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data("missing".utf8))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The settings read only at start, by name, with their values in `c`.
    private static func restartOnlyValues(_ c: GatewayConfiguration) -> [(String, String)] {
        [
            ("listen.host", c.listen.host), ("listen.port", "\(c.listen.port)"), ("storage", c.storage), ("routes", c.routesDirectory),
            ("limits.request_timeout", "\(c.limits.requestTimeout)"), ("limits.shutdown_grace", "\(c.limits.shutdownGrace)"),
            ("limits.upstream_connections_per_host", "\(c.limits.upstreamConnectionsPerHost)"),
            ("limits.header_read_timeout", "\(c.limits.headerReadTimeout)"), ("limits.body_read_timeout", "\(c.limits.bodyReadTimeout)"),
            ("limits.idle_timeout", "\(c.limits.idleTimeout)"), ("limits.max_connections", "\(c.limits.maxConnections)"),
            ("limits.max_limit_keys", "\(c.limits.maxLimitKeys)"), ("limits.upstream_read_timeout", "\(c.limits.upstreamReadTimeout)"),
            ("logs.retention.max_rows", "\(c.controls.logMaxRows.map(String.init) ?? "none")"),
            ("logs.retention.max_age", "\(c.controls.logMaxAge.map { "\($0)" } ?? "none")"),
            ("logs.flush_interval", "\(c.controls.logFlushInterval)"), ("logs.queue_capacity", "\(c.controls.logQueueCapacity)"),
            ("logs.queue_max_bytes", "\(c.controls.logQueueMaxBytes)"), ("logs.max_payload_bytes", "\(c.controls.logMaxPayloadBytes)"),
            ("cache.max_bytes", "\(c.controls.cacheMaxBytes)"),
            ("cluster", "\(c.cluster)"),
            // Compared, never shown: the OTLP headers may hold a collector's key.
            ("telemetry", "\(c.telemetry.hashValue)"),
        ]
    }

    static func restartOnly(running: GatewayConfiguration, file: GatewayConfiguration) -> [String] {
        zip(restartOnlyValues(running), restartOnlyValues(file)).compactMap { $0.1 != $1.1 ? $0.0 : nil }
    }

    /// `file` with every restart-only setting as the process runs it.
    static func keepingRestartOnly(_ file: GatewayConfiguration, from running: GatewayConfiguration) -> GatewayConfiguration {
        var c = file
        c.listen = running.listen
        c.storage = running.storage
        c.cluster = running.cluster
        c.routesDirectory = running.routesDirectory
        c.telemetry = running.telemetry
        let reloadable = file.limits
        c.limits = running.limits
        c.limits.maxBodyBytes = reloadable.maxBodyBytes
        c.limits.maxUniversalSteps = reloadable.maxUniversalSteps
        c.limits.passthroughMethods = reloadable.passthroughMethods
        let tokens = (file.controls.adminToken, file.controls.metricsToken)
        c.controls = running.controls
        (c.controls.adminToken, c.controls.metricsToken) = tokens
        return c
    }
}
