import Foundation
import Logging
import SwitchyardCore

/// Route version history in storage: every version a `RouteTable` starts serving is recorded
/// (with its source text), and `/admin/routes` reads the history back, so that instances sharing a
/// database show the same versions, and a restart keeps them.
enum RouteHistory {
    /// Records the table's current versions now, and each new one as reloads swap it in. Writes
    /// run off the reload (a task each) and are idempotent upserts; a failed one is logged.
    static func attach(_ store: any RouteVersionStore, to table: RouteTable, logger: Logger) {
        let write: @Sendable ([RouteTable.Version]) -> Void = { versions in
            let records = versions.map { RouteVersionRecord($0.graph, loadedAt: $0.loadedAt.timeIntervalSince1970) }
            Task {
                for record in records {
                    do {
                        try await store.recordRouteVersion(record)
                    } catch {
                        logger.warning("could not record route version", metadata: [
                            "route": .string(record.route), "version": .string(record.version), "error": .string("\(error)"),
                        ])
                    }
                }
            }
        }
        table.onNewVersions.withLock { $0 = write }
        write(table.currentVersions)
    }

    struct Entry: Sendable, Equatable {
        let version: String
        /// Unix seconds of the first load (by any instance, when stored).
        let loadedAt: Double
    }

    /// Newest first, at most `RouteTable.keptVersions`: this process's versions merged with the
    /// stored ones (other instances', earlier runs'). The store failing leaves this process's own.
    static func versions(of name: String, kept: [RouteTable.Version], store: (any RouteVersionStore)?, logger: Logger) async -> [Entry] {
        var entries: [String: Double] = [:]
        for v in kept { entries[v.graph.version] = v.loadedAt.timeIntervalSince1970 }
        if let store {
            do {
                for record in try await store.routeVersions(route: name, limit: RouteTable.keptVersions) {
                    entries[record.version] = min(entries[record.version] ?? .infinity, record.firstLoadedAt)
                }
            } catch {
                logger.warning("could not read route versions", metadata: ["route": .string(name), "error": .string("\(error)")])
            }
        }
        return entries.map { Entry(version: $0.key, loadedAt: $0.value) }
            .sorted { ($0.loadedAt, $0.version) > ($1.loadedAt, $1.version) }
            .prefix(RouteTable.keptVersions).map { $0 }
    }

    /// A version this process no longer keeps (or never loaded), recompiled from its stored source
    /// against the current configuration; nil when storage does not have it.
    static func graph(of name: String, version: String, store: (any RouteVersionStore)?, options: RouteCompilerOptions) async throws -> RouteGraph? {
        guard let store, let record = try await store.routeVersion(route: name, version: version) else { return nil }
        return RouteCompiler.compile(RouteSource(path: record.sourcePath, contents: record.source), options: options).graph
    }
}
