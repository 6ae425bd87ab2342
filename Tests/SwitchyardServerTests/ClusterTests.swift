import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardFakeUpstream
import SwitchyardStorage
import Testing

let clusterPostgresURL: String? = ProcessInfo.processInfo.environment["SWITCHYARD_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// Real `switchyard serve` processes sharing one PostgreSQL (heavy phase of scripts/test.sh).
@Suite(.serialized) struct ClusterTests {
    /// The built `switchyard`, next to the test bundle in the products directory.
    static let binary: URL? = {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("switchyard"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/switchyard"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    static var enabled: Bool { heavyTests && clusterPostgresURL != nil && binary != nil }

    /// One `switchyard serve` child process and the port it printed.
    final class Instance: Sendable {
        let process: Process
        let port: Int
        let exit: ExitSignal

        init(directory: URL, configuration: String) async throws {
            let process = Process()
            process.executableURL = ClusterTests.binary
            process.arguments = ["serve", "--config", configuration, "--port", "0", "--routes", "routes"]
            process.currentDirectoryURL = directory
            var environment = ProcessInfo.processInfo.environment
            environment["LOG_LEVEL"] = "warning"
            process.environment = environment
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            let (lines, continuation) = AsyncStream.makeStream(of: String.self)
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    continuation.finish()
                    handle.readabilityHandler = nil
                    return
                }
                let text = String(decoding: data, as: UTF8.self)
                continuation.yield(text)
            }
            let exit = ExitSignal()
            process.terminationHandler = { _ in exit.signal() }
            try process.run()
            var seen = ""
            var port: Int?
            for await chunk in lines {
                seen += chunk
                if let range = seen.range(of: #"listening on http://127\.0\.0\.1:\d+"#, options: .regularExpression) {
                    port = Int(seen[range].split(separator: ":").last!)
                    break
                }
            }
            guard let port else { throw StorageError(description: "serve exited before listening: \(seen)") }
            self.process = process
            self.port = port
            self.exit = exit
        }

        func terminate() { kill(process.processIdentifier, SIGTERM) }
        func killHard() { kill(process.processIdentifier, SIGKILL) }
        func wait() async {
            await exit.wait()
        }
    }

    struct Cluster {
        let directory: URL
        let storageURL: String
        let upstream: FakeUpstream
        var instances: [Instance]
    }

    static func startCluster(count: Int, limit: Int, budget: Double, leaseTTL: String = "3s") async throws -> Cluster {
        let upstream = try await FakeUpstream.start()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("routes"), withIntermediateDirectories: true)
        let schema = "c_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let base = clusterPostgresURL!
        let storage = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
        try """
            storage: "\(storage)"
            providers:
              openai: { base_url: "\(upstream.openAIBaseURL)", keys: "sk-test" }
            pricing:
              openai/gpt-5-mini: { input: 0, output: 5000 }
            cluster: { lease_fraction: 0.05, lease_ttl: \(leaseTTL), report_interval: 200ms }
            """.write(to: directory.appendingPathComponent("switchyard.yaml"), atomically: true, encoding: .utf8)
        try """
            name: limited
            nodes:
              cap:
                rate: { limit: \(limit), per: 1h }
                then: m
                exceeded: reject
              m:
                model: openai/gpt-5-mini
            """.write(to: directory.appendingPathComponent("routes/limited.yaml"), atomically: true, encoding: .utf8)
        try """
            name: capped
            nodes:
              cap:
                budget: { limit: \(budget), per: 1d }
                then: m
                exceeded: reject
              m:
                model: openai/gpt-5-mini
            """.write(to: directory.appendingPathComponent("routes/capped.yaml"), atomically: true, encoding: .utf8)
        // Migrate once first so the instances' own migrations find the schema current.
        let migrate = Process()
        migrate.executableURL = binary
        migrate.arguments = ["migrate", "--config", "switchyard.yaml"]
        migrate.currentDirectoryURL = directory
        migrate.standardOutput = FileHandle.nullDevice
        let migrated = ExitSignal()
        migrate.terminationHandler = { _ in migrated.signal() }
        try migrate.run()
        await migrated.wait()
        var instances: [Instance] = []
        for i in 0..<count {
            // A spool directory each: instances on one machine must not share one.
            let config = "instance\(i).yaml"
            let text = try String(contentsOf: directory.appendingPathComponent("switchyard.yaml"), encoding: .utf8)
                .replacingOccurrences(of: "report_interval: 200ms }", with: "report_interval: 200ms, spool_directory: spool\(i) }")
            try text.write(to: directory.appendingPathComponent(config), atomically: true, encoding: .utf8)
            instances.append(try await Instance(directory: directory, configuration: config))
        }
        return Cluster(directory: directory, storageURL: storage, upstream: upstream, instances: instances)
    }

    static func stop(_ cluster: Cluster) async throws {
        for i in cluster.instances where i.process.isRunning { i.terminate() }
        for i in cluster.instances { await i.wait() }
        try await cluster.upstream.shutdown()
    }

    static func destroy(_ cluster: Cluster) async {
        if let db = try? await PostgresDatabase.open(url: cluster.storageURL, logger: Logger(label: "test")) {
            try? await db.dropSchema()
            await db.shutdown()
        }
        try? FileManager.default.removeItem(at: cluster.directory)
    }

    static func chat(_ client: HTTPClient, port: Int, route: String) async -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/compat/chat/completions")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"dynamic/\#(route)","max_tokens":10,"messages":[{"role":"user","content":"hello"}]}"#))
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        } catch {
            return -1
        }
    }

    /// Fixed windows of an hour: wait out the last seconds of one rather than straddle two.
    static func awayFromAnHourBoundary() async throws {
        let intoHour = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 3600)
        if intoHour > 3600 - 60 { try await Task.sleep(for: .seconds(3600 - intoHour + 1)) }
    }

    static func logged(_ cluster: Cluster) async throws -> [RequestLogRecord] {
        let db = try await PostgresDatabase.open(url: cluster.storageURL, logger: Logger(label: "test"))
        defer { Task { await db.shutdown() } }
        var out: [RequestLogRecord] = []
        var page = 1
        while true {
            let (records, _) = try await db.query(RequestLogQuery(orderBy: .createdAt, descending: false, page: page, perPage: 1000))
            out += records
            if records.count < 1000 { break }
            page += 1
        }
        return out
    }

    @Test(.enabled(if: enabled, "needs SWITCHYARD_HEAVY_TESTS, SWITCHYARD_TEST_POSTGRES_URL and the built switchyard"))
    func threeInstancesShareARateLimitABudgetAndOneLog() async throws {
        try await Self.awayFromAnHourBoundary()
        let cluster = try await Self.startCluster(count: 3, limit: 100, budget: 1)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            let ports = cluster.instances.map(\.port)
            // 300 requests round-robin, 10 at a time, against a limit of 100 per hour.
            let rate = await withTaskGroup(of: Int.self, returning: [Int].self) { group in
                for worker in 0..<10 {
                    group.addTask {
                        var codes: [Int] = []
                        for i in 0..<30 { codes.append(await Self.chat(client, port: ports[(worker * 30 + i) % 3], route: "limited")) }
                        return codes.filter { $0 == 200 }.count
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let admitted = rate.reduce(0, +)
            // admitted ≤ limit + N × L with L = ⌈0.05 × 100⌉ = 5 (docs/deployment.md).
            #expect(admitted >= 100 && admitted <= 100 + 3 * 5, "admitted \(admitted) of 300")

            // 300 concurrent requests against a $1 budget, together worth several dollars: each reserves
            // its estimate (10 tokens at $5,000 per million) and costs what the fake answer took.
            let budgetCodes = await withTaskGroup(of: Int.self, returning: [Int].self) { group in
                for i in 0..<300 { group.addTask { await Self.chat(client, port: ports[i % 3], route: "capped") } }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(!budgetCodes.contains(-1))
            try await client.shutdown()
            try await Self.stop(cluster)

            let records = try await Self.logged(cluster)
            #expect(records.count == 600, "every request once in the shared log")
            #expect(Set(records.map(\.id)).count == records.count)
            let spent = records.filter { $0.route?.hasPrefix("capped") == true }.reduce(0) { $0 + $1.cost }
            // spent ≤ budget + N × L with L = 0.05 × $1.
            #expect(spent <= 1 + 3 * 0.05 + 1e-9, "spent \(spent)")
            // All 300 reserve their estimate ($0.05) at once, so refusals come before the real
            // costs ($0.015) free headroom: part of the budget stays unused, as on one instance.
            #expect(spent >= 0.5, "the budget was used: \(spent)")
            print("cluster: rate limit 100 admitted \(admitted) of 300; budget $1 spent $\(spent) by \(budgetCodes.filter { $0 == 200 }.count) of 300; \(records.count) records logged")
            #expect(records.filter { $0.route?.hasPrefix("limited") == true && $0.statusCode == 200 }.count == admitted)
        } catch {
            try? await client.shutdown()
            try? await Self.stop(cluster)
            await Self.destroy(cluster)
            throw error
        }
        await Self.destroy(cluster)
    }

    /// Runs `body` with a cluster, stopping and dropping it whatever happens.
    static func withCluster(
        count: Int, limit: Int, budget: Double = 1, leaseTTL: String = "3s", _ body: (inout Cluster, HTTPClient) async throws -> Void
    ) async throws {
        var cluster = try await startCluster(count: count, limit: limit, budget: budget, leaseTTL: leaseTTL)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            try await body(&cluster, client)
        } catch {
            try? await client.shutdown()
            try? await stop(cluster)
            await destroy(cluster)
            throw error
        }
        try? await client.shutdown()
        await destroy(cluster)
    }

    @Test(.enabled(if: enabled, "needs SWITCHYARD_HEAVY_TESTS, SWITCHYARD_TEST_POSTGRES_URL and the built switchyard"))
    func aKilledInstancesCapacityGoesToTheOthers() async throws {
        try await Self.awayFromAnHourBoundary()
        try await Self.withCluster(count: 3, limit: 60, leaseTTL: "2s") { cluster, client in
            let ports = cluster.instances.map(\.port)
            // Instance 0 takes a lease and admits a few, then is killed without giving it back.
            var admitted = 0
            for _ in 0..<4 where await Self.chat(client, port: ports[0], route: "limited") == 200 { admitted += 1 }
            // Let its usage report land (report_interval 200ms) before the kill.
            try await Task.sleep(for: .milliseconds(600))
            cluster.instances[0].killHard()
            await cluster.instances[0].wait()
            // The survivors drain the rest of the limit; after lease_ttl the dead lease's unused
            // part returns and they take it (re-asks every second).
            let deadline = ContinuousClock.now + .seconds(20)
            var refusedInARow = 0
            var i = 0
            while ContinuousClock.now < deadline {
                let code = await Self.chat(client, port: ports[1 + i % 2], route: "limited")
                i += 1
                if code == 200 { admitted += 1; refusedInARow = 0 } else { refusedInARow += 1 }
                if admitted >= 60 { break }
                if refusedInARow > 20 { try await Task.sleep(for: .milliseconds(250)) }
            }
            // Bound: limit + N × L, plus what the killed instance admitted since its last report (0 here).
            #expect(admitted >= 60 && admitted <= 60 + 3 * 3, "admitted \(admitted) of a limit of 60 after one of three was killed")
            try await Self.stop(cluster)
            print("cluster kill -9: admitted \(admitted) of 60 with one instance killed")
        }
    }

    @Test(.enabled(if: enabled && ProcessInfo.processInfo.environment["SWITCHYARD_TEST_POSTGRES_DIR"] != nil,
                   "needs the cluster scripts/test.sh starts (SWITCHYARD_TEST_POSTGRES_DIR) to restart it"))
    func noAcceptedLogRecordIsLostWhenPostgresRestarts() async throws {
        try await Self.withCluster(count: 2, limit: 100_000) { cluster, client in
            let ports = cluster.instances.map(\.port)
            let tally = Tally()
            let restart = Task {
                try await Task.sleep(for: .milliseconds(500))
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/bin/bash")
                let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                p.arguments = [root.appendingPathComponent("scripts/postgres.sh").path, "restart", ProcessInfo.processInfo.environment["SWITCHYARD_TEST_POSTGRES_DIR"]!]
                try p.run()
                // Neither waitUntilExit nor terminationHandler saw this script end here (it left a
                // zombie; pg_ctl daemonises the server under it): reap it ourselves.
                let pid = p.processIdentifier
                while true {
                    var status: Int32 = 0
                    let r = waitpid(pid, &status, WNOHANG)
                    if r == pid || r == -1 { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        for i in 0..<150 {
                            let code = await Self.chat(client, port: ports[(worker + i) % 2], route: "limited")
                            tally.add(answered: code > 0)
                        }
                    }
                }
            }
            try await restart.value
            try await Self.stop(cluster)
            // What the instances spooled while PostgreSQL was down was drained before they
            // stopped, or is left in their spool directories: a restarted instance drains it.
            var left = 0
            for i in 0..<2 {
                let spool = cluster.directory.appendingPathComponent("spool\(i)").path
                left += ((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).filter { $0.hasSuffix(".jsonl") }.count
            }
            if left > 0 {
                let again = try await Instance(directory: cluster.directory, configuration: "instance0.yaml")
                let again1 = try await Instance(directory: cluster.directory, configuration: "instance1.yaml")
                try await Task.sleep(for: .seconds(2))
                again.terminate(); again1.terminate()
                await again.wait(); await again1.wait()
            }
            let records = try await Self.logged(cluster)
            let acceptedCount = tally.answered
            #expect(records.count == acceptedCount, "\(records.count) logged of \(acceptedCount) answered (\(left) spool files replayed)")
            print("cluster postgres restart: \(acceptedCount) answered, \(records.count) logged, \(left) spool files left at stop")
        }
    }
}

final class Tally: Sendable {
    private let counts = Mutex((sent: 0, answered: 0))
    func add(answered: Bool) { counts.withLock { $0.sent += 1; if answered { $0.answered += 1 } } }
    var answered: Int { counts.withLock { $0.answered } }
}

/// Set by a `Process.terminationHandler` (waitUntilExit spins a run loop on Linux and missed exits here).
final class ExitSignal: Sendable {
    private let state = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    func signal() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.done = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for w in waiters { w.resume() }
    }
    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s -> Bool in
                if !s.done { s.waiters.append(c) }
                return s.done
            }
            if done { c.resume() }
        }
    }
}
