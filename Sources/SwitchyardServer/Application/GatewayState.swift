import Synchronization
import Foundation
import Hummingbird
import Logging
import SwitchyardCore
import SwitchyardProviders

/// Everything the request path reads. What the configuration decides is in `settings` (swapped
/// whole on reload, pinned per request); the rest lives as long as the process.
final class GatewayState: Sendable {
    typealias Gateway = GatewaySettings.Gateway

    /// The configuration the request started with (`SettingsStore.current`).
    let settings: SettingsStore
    var current: GatewaySettings { settings.current }
    var configuration: GatewayConfiguration { current.configuration }
    var gateways: [String: Gateway] { current.gateways }
    /// Every gateway's tokens and the admin token: never forwarded upstream, from any endpoint.
    var credentials: GatewayCredentials { current.credentials }
    var providers: ProviderTable { current.providers }
    var prices: PriceTable { current.prices }
    let dispatcher: Dispatcher
    let routeTable: RouteTable
    var routes: RouteCatalog { routeTable.current }
    let logger: Logger
    /// Gateway-level rate limits (`gateways.<id>.rate_limit`).
    let limits: any LimitStore
    /// One registry per application, shared by every metric (Controls/GatewayMetrics.swift).
    var metrics: GatewayMetrics { controls.metrics }
    /// Unix seconds; injected by tests.
    let now: @Sendable () -> Double
    /// Cache, request log, metrics, admin API (Controls/).
    let controls: GatewayControls
    /// Seeds for each request's split generator.
    let splitSeeds: SplitSeeds
    /// Reloads the configuration file (nil: the configuration was given in memory).
    let reloader: ConfigurationReloader?
    /// OpenTelemetry traces; nil = `telemetry` is off (Telemetry/RequestTracing.swift).
    let tracing: RequestTracing?
    /// Route version history in storage (shared by the instances of one database); nil = memory only.
    let routeVersions: (any RouteVersionStore)?

    init(
        settings: SettingsStore, dispatcher: Dispatcher, routes: RouteTable, logger: Logger,
        limits: any LimitStore = InMemoryLimitStore(), now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        controls: GatewayControls? = nil, splitSeeds: SplitSeeds = SplitSeeds(seed: nil), reloader: ConfigurationReloader? = nil,
        tracing: RequestTracing? = nil, routeVersions: (any RouteVersionStore)? = nil
    ) {
        self.routeVersions = routeVersions
        self.tracing = tracing
        self.settings = settings
        self.splitSeeds = splitSeeds
        self.limits = limits
        self.now = now
        self.dispatcher = dispatcher
        self.routeTable = routes
        self.logger = logger
        self.reloader = reloader
        self.controls = controls ?? GatewayControls(
            settings: settings, store: nil, registry: .init(), routeNames: { routes.current.names }, logger: logger, now: now
        )
    }

    convenience init(
        configuration: GatewayConfiguration, environment: [String: String] = [:], dispatcher: Dispatcher, routes: RouteTable, logger: Logger
    ) {
        self.init(settings: SettingsStore(GatewaySettings(configuration: configuration, environment: environment)), dispatcher: dispatcher, routes: routes, logger: logger)
    }

    /// Counts the request against the gateway's rate limit, if it has one (429/2003 beyond it).
    func checkRateLimit(gateway name: String, _ gateway: Gateway) throws(GatewayError) {
        guard let rate = gateway.settings.rateLimit else { return }
        let technique: RouteNode.WindowTechnique = rate.technique == .fixed ? .fixed : .sliding
        let decision = limits.consume(LimitKey(route: "gateway", node: name, keyValue: ""), cost: 1, limit: Double(rate.limit), window: rate.per, technique: technique, now: now())
        if case .exceeded(let retryAfter) = decision {
            throw .gatewayRateLimited(name, limit: rate.limit, window: DurationText.format(rate.per), retryAfter: max(1, Int(retryAfter.rounded(.up))))
        }
    }
}

/// What the log line of one request says; filled in as the request is understood.
struct RequestRecord: Sendable {
    let method: String
    let uri: String
    let start: ContinuousClock.Instant
    let logID: String
    let eventID: String
    var account: String?
    var gateway: String?
    var provider: String?
    var model: String?
    var step = 0
    var endpoint = "unknown"
    /// `name@version` and the nodes visited, for dynamic routes.
    var route: String?
    var routePath: String?
    /// Arms taken at `pick:` nodes: the request's end reports its outcome to them.
    var picks: PickFeedback?
    /// What the dynamic route decided on and what it reads: kept in the request-log record as
    /// `RouteFacts` (built only when the request is logged).
    var routeFacts: (facts: RequestFacts, reads: RouteReads)?
    /// Shared with the responder's body wrapper: what the request log record and metrics need.
    let observation = RequestObservation()
    /// The request's span, when telemetry is on; ended by `GatewayControls.finish`.
    var trace: RequestTrace?

    var elapsedMilliseconds: Int64 {
        let d = ContinuousClock.now - start
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    static let secretParameters: Set<String> = ["key", "api_key", "apikey", "token", "access_token", "api-key"]

    static func redact(_ uri: String) -> String {
        guard uri.utf8.contains(UInt8(ascii: "?")), let q = uri.firstIndex(of: "?") else { return uri }
        let query = uri[uri.index(after: q)...].split(separator: "&", omittingEmptySubsequences: false).map { pair -> String in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, secretParameters.contains(parts[0].lowercased()) { return "\(parts[0])=REDACTED" }
            return String(pair)
        }
        return String(uri[..<q]) + "?" + query.joined(separator: "&")
    }

    /// The gateway's own response headers.
    func headers() -> HTTPFields {
        var h = HTTPFields()
        h[.cfAigLogID] = logID
        h[.cfAigEventID] = eventID
        if let route { h[.xSwitchyardRoute] = route }
        if let routePath { h[.xSwitchyardPath] = routePath }
        if let provider {
            h[.cfAigStep] = String(step)
            h[.cfAigProvider] = provider
            if let model { h[.cfAigModel] = model }
            h[.cfAigCacheStatus] = "MISS"
        }
        return h
    }
}

/// Per-request seeds for route splits: a process seed (random, or fixed for reproducible runs)
/// advanced by a counter and mixed, so concurrent requests get independent, replayable streams.
final class SplitSeeds: Sendable {
    private let base: UInt64
    private let counter = Mutex<UInt64>(0)

    init(seed: UInt64?) {
        var system = SystemRandomNumberGenerator()
        self.base = seed ?? system.next()
    }

    func next() -> UInt64 {
        let n = counter.withLock { c -> UInt64 in
            c &+= 1
            return c
        }
        return SplitMix64.mix(base &+ n &* 0x9e37_79b9_7f4a_7c15)
    }
}
