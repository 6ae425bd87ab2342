import ArgumentParser
import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import SwitchyardCore
import SwitchyardServer
import SwitchyardStorage

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway.",
        discussion: "Prints 'switchyard listening on http://HOST:PORT' once it accepts connections. SIGTERM or SIGINT stop it gracefully."
    )

    @OptionGroup var configurationFile: ConfigurationOption

    @Option(help: "Directory of route files (default: the config's 'routes', else routes).")
    var routes: String?

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0 lets the system choose (default 8787).")
    var port: Int?

    @Flag(help: "Start the built-in fake provider and point every provider without a key at it (answers are simulated).")
    var demo = false

    @Flag(help: "Listen on a non-loopback host although no gateway requires a token and no admin token is set.")
    var allowUnauthenticated = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = try configurationFile.load(environment: environment)
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be from 0 to 65535") }
        // The command line wins over the file, at start and on every reload.
        let (host, port, routes, allowUnauthenticated) = (self.host, self.port, self.routes, self.allowUnauthenticated)
        let commandLine: @Sendable (inout GatewayConfiguration) -> Void = { c in
            if let host { c.listen.host = host }
            if let port { c.listen.port = port }
            if let routes { c.routesDirectory = routes }
            if allowUnauthenticated { c.listen.allowUnauthenticated = true }
        }
        commandLine(&configuration)
        if let refusal = NetworkExposure.refusal(configuration) {
            FileHandle.standardError.write(Data((refusal + "\n").utf8))
            throw ExitCode(1)
        }
        if let warning = NetworkExposure.warning(configuration) {
            FileHandle.standardError.write(Data((warning + "\n").utf8))
        }

        LoggingSystem.bootstrap { BufferedLogHandler(label: $0, output: .standardOutput) }
        defer { LogOutput.standardOutput.flush() }
        var logger = Logger(label: "switchyard")
        logger.logLevel = environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info

        var services: [any Service] = [LogFlushService(output: .standardOutput)]
        var adjust = commandLine
        if demo {
            let demoSetup = try await DemoMode.start(configuration: &configuration, environment: environment)
            FileHandle.standardOutput.write(Data((demoSetup.banner + "\n").utf8))
            services.append(demoSetup.service)
            adjust = { c in
                commandLine(&c)
                demoSetup.overlay(&c, environment: ProcessInfo.processInfo.environment)
            }
        }
        let source = configurationFile.path.map { ConfigurationSource(path: $0, adjust: adjust) }

        let routeCatalog = RouteLoading.load(directory: configuration.routesDirectory, configuration: configuration)
        let names = routeCatalog.names.isEmpty ? "" : ": " + routeCatalog.names.joined(separator: ", ")
        var startup = "switchyard: loaded \(routeCatalog.names.count) routes from \(configuration.routesDirectory)\(names)\n"
        for error in routeCatalog.errors { startup += error + "\n" }
        LogOutput.standardOutput.flush()
        FileHandle.standardOutput.write(Data(startup.utf8))

        let limits: any LimitStore
        let limitPersister: LimitPersister?
        let storage: GatewayStorage.Opened
        do {
            // PostgreSQL is migrated here, before anything reads it.
            storage = try await GatewayStorage.open(configuration.storage, logger: logger)
            for migration in storage.appliedMigrations { logger.info("applied schema migration", metadata: ["migration": "\(migration)"]) }
        } catch {
            LogOutput.standardOutput.flush()
            FileHandle.standardError.write(Data("switchyard: cannot open storage '\(GatewayStorage.shown(configuration.storage))': \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let postgres = storage.postgres {
            // Several instances share limits through leases of the pool in PostgreSQL.
            let (store, leaseService) = ClusterLimits.make(configuration: configuration, database: postgres, logger: logger)
            limits = store
            limitPersister = nil
            services.append(leaseService)
        } else { do {
            (limits, limitPersister) = try await LimitStorage.open(backend: storage.limitSnapshots, logger: logger, maxKeys: configuration.limits.maxLimitKeys)
        } catch {
            await storage.close()
            LogOutput.standardOutput.flush()
            FileHandle.standardError.write(Data("switchyard: cannot restore limit state from '\(GatewayStorage.shown(configuration.storage))': \(error)\n".utf8))
            throw ExitCode(1)
        } }
        let metricsRegistry = PrometheusCollectorRegistry()
        var requestLog = storage.requestLog
        if let postgres = storage.postgres {
            services.append(DatabaseMetricsService(database: postgres, registry: metricsRegistry))
            do {
                let spool = try SpoolingRequestLogStore(
                    base: postgres, directory: configuration.cluster.spoolDirectory, maxBytes: configuration.cluster.spoolMaxBytes, logger: logger)
                requestLog = spool
                services.append(SpoolDrainService(spool: spool))
            } catch {
                await storage.close()
                LogOutput.standardOutput.flush()
                FileHandle.standardError.write(Data("switchyard: cannot open the request-log spool '\(configuration.cluster.spoolDirectory)': \(error)\n".utf8))
                throw ExitCode(1)
            }
        }

        let listenHost = configuration.listen.host
        let app = buildApplication(configuration: configuration, environment: environment, routes: routeCatalog, reloadRoutesEvery: .seconds(1), logger: logger, limits: limits, limitPersister: limitPersister, requestLog: requestLog, routeVersions: storage.routeVersions, metrics: metricsRegistry, configurationSource: source, onServerRunning: { port in
            // Written unbuffered, after the log lines before it: scripts and tests wait for this line.
            LogOutput.standardOutput.flush()
            FileHandle.standardOutput.write(Data("switchyard listening on http://\(listenHost):\(port)\n".utf8))
        })
        services.append(app)
        var groupConfiguration = ServiceGroupConfiguration(services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.limits.shutdownGrace
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            await storage.close()
            throw error
        }
        // After the group: the request-log writer and the limit persister have written their last.
        await storage.close()
    }
}
