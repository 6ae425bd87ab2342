import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import SwitchyardCore

/// The routes being served, swapped atomically on reload. A request reads the catalog once and
/// keeps the graph it started with; the lock is never held across an await.
public final class RouteTable: Sendable {
    private let state: Mutex<(catalog: RouteCatalog, generation: Int)>

    public init(_ catalog: RouteCatalog) { self.state = Mutex((catalog, 0)) }

    public var current: RouteCatalog { state.withLock { $0.catalog } }

    /// How many reloads have been swapped in.
    public var generation: Int { state.withLock { $0.generation } }

    func replace(_ new: RouteCatalog) {
        state.withLock {
            $0.catalog = new
            $0.generation += 1
        }
    }
}

/// Watches the routes directory (polling names, sizes and modification times) and recompiles on
/// change. A file that no longer compiles keeps its previous version serving; its errors are logged.
struct RouteReloadService: Service {
    let table: RouteTable
    let directory: String
    let configuration: GatewayConfiguration
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var signature = RouteLoading.signature(of: directory)
        var lastGood = Dictionary(table.current.graphs.values.map { ($0.sourcePath, $0) }, uniquingKeysWith: { a, _ in a })
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let now = RouteLoading.signature(of: directory)
            guard now != signature else { continue }
            signature = now
            let fresh = RouteLoading.load(directory: directory, configuration: configuration)
            var graphs = Dictionary(fresh.graphs.values.map { ($0.sourcePath, $0) }, uniquingKeysWith: { a, _ in a })
            let failedPaths = Set(fresh.errors.compactMap { line -> String? in
                guard line.contains(": error:") else { return nil }
                return line.split(separator: ":", maxSplits: 1).first.map(String.init)
            })
            for path in failedPaths where graphs[path] == nil {
                if let previous = lastGood[path], FileManager.default.fileExists(atPath: path) { graphs[path] = previous }
            }
            lastGood = graphs
            table.replace(RouteCatalog(graphs: Array(graphs.values), errors: fresh.errors))
            logger.info("routes reloaded", metadata: ["routes": "\(graphs.values.map(\.name).sorted().joined(separator: ","))", "errors": "\(fresh.errors.filter { $0.contains(": error:") }.count)"])
            for error in fresh.errors where error.contains(": error:") { logger.error("\(error)") }
        }
    }
}
