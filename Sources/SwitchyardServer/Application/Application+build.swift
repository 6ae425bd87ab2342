import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import SwitchyardCore
import SwitchyardProviders
import SwitchyardStorage

/// Builds the gateway: provider table, shared upstream client, responder. Tests call this with a
/// configuration in memory; the CLI only parses options into one.
public func buildApplication(
    configuration: GatewayConfiguration,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    routes: RouteCatalog = RouteCatalog(),
    routeTable: RouteTable? = nil,
    /// Poll the routes directory this often and swap in recompiled routes; nil = load once.
    reloadRoutesEvery: Duration? = nil,
    logger: Logger = Logger(label: "switchyard"),
    /// Limit state; nil = an in-memory store capped at `limits.max_limit_keys`.
    limits: (any LimitStore)? = nil,
    /// Keeps `limits` durable (it must be the persister's store); flushed in the background.
    limitPersister: LimitPersister? = nil,
    now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
    requestLog: (any RequestLogStore)? = nil,
    /// Where route versions are recorded and read back (`/admin/routes`); nil = this process's memory only.
    routeVersions: (any RouteVersionStore)? = nil,
    metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    /// Seeds the per-request generators of route splits; nil = a random seed per process.
    randomSeed: UInt64? = nil,
    /// Waits between two tries of an upstream call (`cf-aig-max-attempts`, route `retries`, universal steps); tests record instead.
    retrySleep: @escaping @Sendable (Seconds) async throws -> Void = AttemptExecutor.taskSleep,
    /// The file `configuration` was read from: reloaded on change, SIGHUP and `POST /admin/reload`
    /// (polled every `reloadRoutesEvery`); nil = the configuration is fixed.
    configurationSource: ConfigurationSource? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    var clientConfiguration = HTTPClient.Configuration()
    clientConfiguration.redirectConfiguration = .disallow
    clientConfiguration.decompression = .disabled
    clientConfiguration.timeout.connect = .seconds(10)
    // AsyncHTTPClient's default of 8 connections per host queues every request beyond the eighth:
    // streams are long-lived, so 1,000 concurrent streams need about 1,000 upstream connections.
    clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.limits.upstreamConnectionsPerHost)
    // A refused connection fails the attempt at once: retries and fallbacks are the gateway's own
    // policy (cf-aig-max-attempts, route retries), not a silent wait until the connect timeout.
    clientConfiguration.connectionPool.retryConnectionEstablishment = false
    // Silence between reads of an upstream answer (a trickling or stalled upstream) ends the attempt.
    clientConfiguration.timeout.read = .nanoseconds(Dispatcher.nanoseconds(configuration.limits.upstreamReadTimeout))
    // No tracer: AsyncHTTPClient otherwise builds a span and its attributes for every request (~1.4 % of CPU in the profile).
    clientConfiguration.tracing.tracer = nil
    let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration, backgroundActivityLogger: logger)
    let settings = SettingsStore(GatewaySettings(configuration: configuration, environment: environment))
    let routeTable = routeTable ?? RouteTable(routes)
    let limits = limits ?? InMemoryLimitStore(maxKeys: configuration.limits.maxLimitKeys)
    if let leased = limits as? LeasedLimitStore {
        leased.gatewayPolicy.withLock {
            $0 = { gateway in settings.latest.configuration.gateways[gateway]?.onDatabaseDown.flatMap(LeasedLimitStore.DatabaseDownPolicy.init(rawValue:)) }
        }
    }
    let controls = GatewayControls(
        settings: settings, store: requestLog, registry: metrics, routeNames: { routeTable.current.names }, logger: logger, now: now,
        limitStore: limits as? InMemoryLimitStore
    )
    let telemetry = RequestTracing.make(configuration.telemetry, contentLimit: configuration.controls.logMaxPayloadBytes, metrics: controls.metrics, logger: logger)
    let breakerMetrics = controls.metrics
    routeTable.health.onChange.withLock {
        $0 = { key, state in breakerMetrics.breakerState(route: key.route, target: key.target.description, state: state) }
    }
    var dispatcher = Dispatcher(client: client, defaultTimeout: configuration.limits.requestTimeout)
    dispatcher.observer = controls.dispatchObserver
    dispatcher.tracer = telemetry?.0.tracer
    dispatcher.retrySleep = retrySleep
    let reloader = configurationSource.map { ConfigurationReloader(source: $0, settings: settings, metrics: controls.metrics, logger: logger) }
    let state = GatewayState(
        settings: settings, dispatcher: dispatcher, routes: routeTable, logger: logger, limits: limits, now: now,
        controls: controls, splitSeeds: SplitSeeds(seed: randomSeed), reloader: reloader, tracing: telemetry?.0, routeVersions: routeVersions
    )
    if let routeVersions { RouteHistory.attach(routeVersions, to: routeTable, logger: logger) }
    var services: [any Service] = [HTTPClientService(client: client)] + controls.services
    if let limitPersister { services.append(LimitPersisterService(persister: limitPersister)) }
    // Exports finished spans; its graceful shutdown flushes what is queued.
    if let exporter = telemetry?.1 { services.append(exporter) }
    if let interval = reloadRoutesEvery {
        let metrics = controls.metrics
        services.append(ReloadService(
            table: routeTable, directory: configuration.routesDirectory, settings: settings, reloader: reloader, interval: interval, logger: logger,
            reloaded: { metrics.routesReloaded(success: $0) }
        ))
    }
    let serverLimits = configuration.limits
    let readTimeouts = controls.metrics
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [
            RequestReadTimeoutHandler(headerTimeout: serverLimits.headerReadTimeout, bodyTimeout: serverLimits.bodyReadTimeout) { readTimeouts.readTimedOut(phase: $0) },
            ConnectRequestCloser(),
        ],
        idleTimeout: TimeAmount(serverLimits.idleTimeout)
    )
    return Application(
        responder: GatewayResponder(state: state),
        server: .http1(configuration: http1),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.listen.host, port: configuration.listen.port),
            serverName: "switchyard",
            availableConnectionsDelegate: MaximumAvailableConnections(serverLimits.maxConnections, logger: logger)
        ),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.listen.port) },
        logger: logger
    )
}
