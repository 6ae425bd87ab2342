import Foundation
import Logging
import ServiceLifecycle
import UnixSignals
import Synchronization
import SwitchyardCore

/// The routes being served, swapped atomically on reload. A request reads the catalog once and
/// keeps the graph it started with; the lock is never held across an await.
///
/// Also keeps, per route, when its current version was loaded and its last ten versions (newest
/// last), for `GET /admin/routes`.
public final class RouteTable: Sendable {
    public struct Version: Sendable {
        public let graph: RouteGraph
        public let loadedAt: Date
    }

    struct State {
        var catalog: RouteCatalog
        var generation = 0
        var history: [String: [Version]] = [:]
        /// What the last reload saw: file signatures, and the last good graph of each file.
        var signature: [String: String]?
        var lastGood: [String: RouteGraph] = [:]
    }

    public static let keptVersions = 10
    /// Breakers and in-flight counts of gated model targets; outlives every catalog.
    public let health = TargetHealth()
    /// Live figures of `pick:` nodes; outlives every catalog like `health`.
    public let picks = PickStats()
    /// Feedback verdicts of adaptive splits (`PATCH /admin/logs/{id}`).
    public let feedback = FeedbackStats()
    private let state: Mutex<State>
    /// Told of each version first served by this table (at start and on reloads): the storage's
    /// route history (`RouteHistory`).
    let onNewVersions = Mutex<(@Sendable ([Version]) -> Void)?>(nil)
    /// Serializes reloads (the poller and `POST /admin/reload` may race).
    private let reloading = Mutex(())

    public init(_ catalog: RouteCatalog, now: Date = Date()) {
        var s = State(catalog: catalog)
        Self.record(catalog, into: &s, now: now)
        s.lastGood = Dictionary(catalog.graphs.values.map { ($0.sourcePath, $0) }, uniquingKeysWith: { a, _ in a })
        self.state = Mutex(s)
    }

    public var current: RouteCatalog { state.withLock { $0.catalog } }

    /// How many reloads have been swapped in.
    public var generation: Int { state.withLock { $0.generation } }

    /// Versions of `name`, newest last.
    public func versions(of name: String) -> [Version] { state.withLock { $0.history[name] ?? [] } }

    func replace(_ new: RouteCatalog, now: Date = Date()) {
        let added = state.withLock {
            $0.catalog = new
            $0.generation += 1
            return Self.record(new, into: &$0, now: now)
        }
        if !added.isEmpty, let hook = onNewVersions.withLock({ $0 }) { hook(added) }
        health.retain(TargetHealth.keys(of: new.graphs.values))
        picks.retain(PickStats.keys(of: new.graphs.values))
        feedback.retain(FeedbackStats.keys(of: new.graphs.values))
    }

    @discardableResult
    private static func record(_ catalog: RouteCatalog, into s: inout State, now: Date) -> [Version] {
        var added: [Version] = []
        for graph in catalog.graphs.values {
            var versions = s.history[graph.name] ?? []
            if versions.last?.graph.version != graph.version {
                versions.append(Version(graph: graph, loadedAt: now))
                added.append(versions[versions.count - 1])
                if versions.count > keptVersions { versions.removeFirst(versions.count - keptVersions) }
            }
            s.history[graph.name] = versions
        }
        for name in s.history.keys where catalog.graphs[name] == nil { s.history[name] = nil }
        return added
    }

    /// The current version of every route, as first served (for the storage's history at start).
    var currentVersions: [Version] {
        state.withLock { s in s.catalog.graphs.keys.compactMap { s.history[$0]?.last } }
    }

    func prime(directory: String) {
        let signature = RouteLoading.signature(of: directory)
        state.withLock { if $0.signature == nil { $0.signature = signature } }
    }

    /// Recompiles `directory` when its files changed (always with `force`) and swaps the result in.
    /// A file that no longer compiles keeps its previous version serving; its errors are kept.
    /// Returns the error lines when something was swapped in, nil when nothing changed.
    @discardableResult
    func reload(directory: String, configuration: GatewayConfiguration, force: Bool = false) -> [String]? {
        reloading.withLock { _ in
            let signature = RouteLoading.signature(of: directory)
            let (previous, lastGood) = state.withLock { ($0.signature, $0.lastGood) }
            if !force, let previous, previous == signature { return nil }
            let fresh = RouteLoading.load(directory: directory, configuration: configuration)
            var graphs = Dictionary(fresh.graphs.values.map { ($0.sourcePath, $0) }, uniquingKeysWith: { a, _ in a })
            let failedPaths = Set(fresh.errors.compactMap { line -> String? in
                guard line.contains(": error:") else { return nil }
                return line.split(separator: ":", maxSplits: 1).first.map(String.init)
            })
            for path in failedPaths where graphs[path] == nil {
                if let previous = lastGood[path], FileManager.default.fileExists(atPath: path) { graphs[path] = previous }
            }
            state.withLock {
                $0.signature = signature
                $0.lastGood = graphs
            }
            replace(RouteCatalog(graphs: Array(graphs.values), errors: fresh.errors))
            return fresh.errors
        }
    }
}

/// Watches the routes directory and the configuration file (polling names, sizes and modification
/// times of routes; the contents of the configuration and its secret files) and reloads on change.
/// A route file that no longer compiles keeps its previous version serving; a configuration with
/// errors changes nothing. Both are logged.
struct ReloadService: Service {
    let table: RouteTable
    let directory: String
    let settings: SettingsStore
    /// Nil when the configuration was not read from a file.
    let reloader: ConfigurationReloader?
    let interval: Duration
    let logger: Logger
    /// After each route reload: true when every file compiled (metrics).
    var reloaded: @Sendable (_ success: Bool) -> Void = { _ in }

    func run() async throws {
        // The catalog handed in was loaded from this directory: changes are counted from here.
        table.prime(directory: directory)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.reloadOnHangup() }
            group.addTask { try await self.poll() }
            // The poll ends on graceful shutdown; the signal listener is then cancelled.
            try await group.next()
            group.cancelAll()
        }
    }

    private func poll() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // Cut short by a graceful shutdown, which would otherwise wait out the interval.
                let interval = self.interval
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            reload(force: false)
        }
    }

    /// `kill -HUP` reloads the configuration and recompiles the routes at once, changed or not.
    private func reloadOnHangup() async {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            logger.info("SIGHUP: reloading the configuration and routes")
            reload(force: true)
        }
    }

    /// The configuration first: routes compile against it (providers, prices), so a configuration
    /// that changed recompiles every route.
    func reload(force: Bool) {
        var configurationChanged = false
        if let reloader, case .applied = reloader.reload(force: force) { configurationChanged = true }
        Self.reloadRoutes(table: table, directory: directory, configuration: settings.latest.configuration, force: force || configurationChanged, logger: logger, reloaded: reloaded)
    }

    static func reloadRoutes(
        table: RouteTable, directory: String, configuration: GatewayConfiguration, force: Bool, logger: Logger, reloaded: @Sendable (Bool) -> Void = { _ in }
    ) {
        guard let errors = table.reload(directory: directory, configuration: configuration, force: force) else { return }
        reloaded(!errors.contains { $0.contains(": error:") })
        logger.info("routes reloaded", metadata: ["routes": "\(table.current.names.joined(separator: ","))", "errors": "\(errors.filter { $0.contains(": error:") }.count)"])
        for error in errors where error.contains(": error:") { logger.error("\(error)") }
    }
}
