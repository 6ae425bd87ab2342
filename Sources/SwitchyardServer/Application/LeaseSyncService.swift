import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import SwitchyardCore
import SwitchyardStorage

/// Runs a `LeaseSync` in the service group: refills and reports while the gateway serves; after
/// the server has drained, gives the unused part of every lease back to the pool.
public struct LeaseSyncService: Service {
    public let sync: LeaseSync

    public init(sync: LeaseSync) { self.sync = sync }

    public func run() async throws {
        let sync = self.sync
        await cancelWhenGracefulShutdown { await sync.run() }
        // In a task of its own: this one may be cancelled by now, which would abort the write.
        await Task { await sync.release() }.value
    }
}

/// Limits shared by the instances on one PostgreSQL (`cluster:` in the configuration).
public enum ClusterLimits {
    public static func make(
        configuration: GatewayConfiguration, database: PostgresDatabase, logger: Logger,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) -> (LeasedLimitStore, LeaseSyncService) {
        let c = configuration.cluster
        let settings = LeasedLimitStore.Settings(
            leaseFraction: c.leaseFraction, minimumLease: Double(c.minimumLease), leaseTTL: c.leaseTTL,
            onDatabaseDown: LeasedLimitStore.DatabaseDownPolicy(rawValue: c.onDatabaseDown) ?? .closed)
        let instance = "\(ProcessInfo.processInfo.hostName.prefix(64))-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        let store = LeasedLimitStore(settings: settings, instance: instance, maxKeys: configuration.limits.maxLimitKeys, now: now())
        let sync = LeaseSync(
            store: store, backend: database, reportInterval: .milliseconds(Int64(c.reportInterval * 1000)), now: now,
            failed: { what, error in
                logger.warning("shared limits: database unavailable", metadata: ["operation": "\(what)", "error": "\(PostgresDatabase.describe(error))"])
            })
        return (store, LeaseSyncService(sync: sync))
    }
}

/// Replays spooled request-log batches into the database every second while the gateway runs
/// (what is left stays on disk for the next start).
public struct SpoolDrainService: Service {
    public let spool: SpoolingRequestLogStore
    public init(spool: SpoolingRequestLogStore) { self.spool = spool }
    public func run() async throws {
        let spool = self.spool
        await cancelWhenGracefulShutdown { await spool.run() }
    }
}

/// `switchyard_database_round_trips_total`: statements sent to PostgreSQL by this instance (the
/// cluster benchmark divides it by requests served). Read from the database's counter every second.
public struct DatabaseMetricsService: Service {
    public let database: PostgresDatabase
    public let registry: PrometheusCollectorRegistry
    public init(database: PostgresDatabase, registry: PrometheusCollectorRegistry) {
        self.database = database
        self.registry = registry
    }
    public func run() async throws {
        let gauge = registry.makeGauge(name: "switchyard_database_round_trips_total", help: "Statements sent to PostgreSQL by this instance.")
        while !Task.isCancelled {
            gauge.set(Double(database.roundTrips.count))
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) } } catch { break }
        }
    }
}
