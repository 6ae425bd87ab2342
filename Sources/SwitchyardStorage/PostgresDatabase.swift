import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Synchronization
import SwitchyardCore

/// The shared storage for several gateway instances: PostgreSQL through postgres-nio's pooled
/// `PostgresClient`. Same protocols and behaviour as `SQLiteDatabase` (request log, limit
/// snapshots), plus the lease tables of `PostgresLeaseBackend`.
///
/// `postgres://user:pass@host:5432/db?sslmode=disable&schema=switchyard` in the configuration.
/// The client runs in a task of its own (`start`), so that migrations and the restore of limit
/// state can run before the server's service group starts; `shutdown` ends it after the group
/// (and the request-log writer's last flush) is done.
public final class PostgresDatabase: Sendable {
    public struct Settings: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String?
        /// `disable`, `prefer` (default) or `require`.
        public var sslMode: String
        /// Tables live in this schema (created by the migrations); `public` by default.
        public var schema: String
        public var maxConnections: Int
    }

    public struct InvalidURL: Error, CustomStringConvertible {
        public let description: String
    }

    public let client: PostgresClient
    public let settings: Settings
    let logger: Logger
    private let runner = RunTask()
    /// Database round trips made (queries and transactions), for the metric and the benchmark.
    public let roundTrips = RoundTripCounter()
    private let migrated = Synchronization.Mutex<[String]>([])
    /// What `open` migrated.
    public var lastMigrations: [String] { migrated.withLock { $0 } }

    /// How long one statement may take, waiting for a connection included.
    public let queryTimeout: Duration

    public init(settings: Settings, logger: Logger, queryTimeout: Duration = .seconds(5)) {
        self.settings = settings
        self.queryTimeout = queryTimeout
        self.logger = logger
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.username, password: settings.password, database: settings.database,
            tls: Self.tls(settings.sslMode))
        configuration.options.maximumConnections = settings.maxConnections
        configuration.options.connectTimeout = .seconds(5)
        // Every connection resolves unqualified names in the configured schema.
        configuration.options.additionalStartupParameters = [("search_path", settings.schema)]
        // postgres-nio logs every failed connection attempt at info; the gateway reports
        // unavailability itself (one line per failed operation).
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        client = PostgresClient(configuration: configuration, backgroundLogger: background)
    }

    static func tls(_ mode: String) -> PostgresClient.Configuration.TLS {
        switch mode {
        case "disable": .disable
        case "require": .require(.makeClientConfiguration())
        default: .prefer(.makeClientConfiguration())
        }
    }

    /// Whether a storage URL names PostgreSQL.
    public static func isPostgresURL(_ url: String) -> Bool {
        url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")
    }

    /// Parses `postgres://user:pass@host:port/db?sslmode=…&schema=…&pool=…`. Errors never
    /// repeat the password.
    public static func settings(fromURL url: String) throws -> Settings {
        guard isPostgresURL(url), let c = URLComponents(string: url) else {
            throw InvalidURL(description: "a PostgreSQL URL is postgres://USER:PASSWORD@HOST:PORT/DATABASE")
        }
        guard let host = c.host, !host.isEmpty else { throw InvalidURL(description: "the PostgreSQL URL has no host") }
        let port = c.port ?? 5432
        guard (1...65535).contains(port) else { throw InvalidURL(description: "the PostgreSQL port must be from 1 to 65535") }
        guard let user = c.user.flatMap({ $0.removingPercentEncoding }), !user.isEmpty else {
            throw InvalidURL(description: "the PostgreSQL URL has no user (postgres://USER@HOST/DATABASE)")
        }
        let database = c.path.count > 1 ? String(c.path.dropFirst()).removingPercentEncoding : nil
        var settings = Settings(
            host: host, port: port, username: user, password: c.password.flatMap { $0.removingPercentEncoding }, database: database,
            sslMode: "prefer", schema: "public", maxConnections: 10)
        for item in c.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                guard ["disable", "prefer", "require"].contains(value) else {
                    throw InvalidURL(description: "sslmode must be disable, prefer or require, found '\(value.prefix(40))'")
                }
                settings.sslMode = value
            case "schema":
                guard isIdentifier(value) else {
                    throw InvalidURL(description: "schema must be a lowercase SQL identifier of at most 63 characters ([a-z_][a-z0-9_]*)")
                }
                settings.schema = value
            case "pool":
                guard let n = Int(value), (1...200).contains(n) else { throw InvalidURL(description: "pool must be a number of connections from 1 to 200") }
                settings.maxConnections = n
            default:
                throw InvalidURL(description: "unknown PostgreSQL URL parameter '\(item.name.prefix(40))' (sslmode, schema, pool)")
            }
        }
        return settings
    }

    /// The URL with its password replaced, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard var c = URLComponents(string: url), c.password != nil else { return url }
        c.password = "***"
        return c.string ?? "postgres://***"
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, (1...63).contains(s.utf8.count), first == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else { return false }
        return s.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Starts the connection pool (idempotent).
    public func start() {
        runner.start { [client] in await client.run() }
    }

    /// Stops the pool; queries after this fail.
    public func shutdown() async {
        await runner.stop()
    }

    /// Runs one statement and collects its rows.
    /// Fails after `queryTimeout`: while the server is unreachable the pool would keep a query
    /// waiting for a connection for a minute, and callers (the log spool, lease refills) must
    /// learn it is down in seconds.
    @discardableResult
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        roundTrips.add(1)
        let (client, logger, timeout) = (self.client, self.logger, queryTimeout)
        return try await withThrowingTaskGroup(of: [PostgresRow]?.self) { group in
            group.addTask {
                var out: [PostgresRow] = []
                for try await row in try await client.query(query, logger: logger) { out.append(row) }
                return out
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let rows = first else {
                throw StorageError(description: "PostgreSQL did not answer within \(timeout)")
            }
            return rows
        }
    }

    /// Opens the database for `serve`/`migrate`: starts the pool and migrates.
    /// Gives up after `timeout` when the server cannot be reached (the pool would otherwise
    /// retry for a minute).
    public static func open(url: String, logger: Logger, timeout: Duration = .seconds(15)) async throws -> PostgresDatabase {
        let database = PostgresDatabase(settings: try settings(fromURL: url), logger: logger)
        database.start()
        do {
            let applied = try await withThrowingTaskGroup(of: [String]?.self) { group in
                group.addTask { try await database.migrate() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let applied = first else {
                    throw StorageError(description: "no answer within \(timeout) (is the server running and reachable?)")
                }
                return applied
            }
            database.migrated.withLock { $0 = applied }
        } catch {
            await database.shutdown()
            throw StorageError(description: "PostgreSQL at \(database.settings.host):\(database.settings.port): \(describe(error))")
        }
        return database
    }

    /// What went wrong, with the server's message (PSQLError's own description hides it) but no
    /// query text or parameters.
    public static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] {
                let state = e.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return message + state
            }
            if let underlying = e.underlying { return "\(e.code): \(underlying)" }
            return "\(e.code)"
        }
        if let e = error as? PostgresTransactionError {
            if let q = e.closureError ?? e.beginError ?? e.commitError { return describe(q) }
        }
        return "\(error)"
    }
}

public struct StorageError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Counts round trips to the database (a Mutex-free atomic would do; contention is low).
public final class RoundTripCounter: Sendable {
    private let value = Synchronization.Atomic<Int>(0)
    public init() {}
    public func add(_ n: Int) { value.add(n, ordering: .relaxed) }
    public var count: Int { value.load(ordering: .relaxed) }
}

/// The task running the client, cancelled by `stop`.
final class RunTask: Sendable {
    private let task = Synchronization.Mutex<Task<Void, Never>?>(nil)

    func start(_ body: @escaping @Sendable () async -> Void) {
        task.withLock { t in
            if t == nil { t = Task { await body() } }
        }
    }

    func stop() async {
        let t = task.withLock { t -> Task<Void, Never>? in
            defer { t = nil }
            return t
        }
        t?.cancel()
        await t?.value
    }
}
