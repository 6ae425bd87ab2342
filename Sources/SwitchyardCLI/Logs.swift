import ArgumentParser
import Foundation
import SwitchyardCore
import SwitchyardServer
import SwitchyardStorage

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Query the request log (the storage named in the configuration).",
        discussion: "Newest first. Reads the storage directly (the SQLite file in WAL mode, or PostgreSQL), so it works while the gateway runs."
    )

    @OptionGroup var configurationFile: ConfigurationOption

    @Option(help: "Only requests newer than this duration (15m, 1h, 2d).")
    var since: String?

    @Option(help: "Only this dynamic route (name, without dynamic/).")
    var route: String?

    @Option(help: "Only this model: provider/model, or a model name.")
    var model: String?

    @Option(help: "Only this HTTP status (200), or a class (2xx, 4xx, 5xx).")
    var status: String?

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false

    @Option(help: "At most this many records (1 to 1000).")
    var limit = 50

    func run() async throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        let environment = ProcessInfo.processInfo.environment
        let storage = try configurationFile.load(environment: environment).storage
        if storage != "memory", let file = SQLiteDatabase.path(fromStorageURL: storage), !FileManager.default.fileExists(atPath: file) {
            throw ValidationError("no request log at '\(file)' (storage: \(storage)); start the gateway first")
        }
        let opened = try await GatewayStorage.open(storage)
        let store = opened.requestLog
        var query = RequestLogQuery(perPage: limit)
        if let since {
            guard let seconds = DurationText.parse(since) else { throw ValidationError("--since must be a duration such as 15m, 1h or 2d") }
            query.since = Date().timeIntervalSince1970 - seconds
        }
        if let route { query.filters.append(.init(.field(.route), .contains, .string(route.hasPrefix("dynamic/") ? String(route.dropFirst(8)) : route))) }
        if let model {
            if let target = ModelTarget(model) {
                query.filters.append(.init(.field(.provider), .eq, .string(target.provider)))
                query.filters.append(.init(.field(.model), .eq, .string(target.model)))
            } else {
                query.filters.append(.init(.field(.model), .eq, .string(model)))
            }
        }
        if let status {
            let s = status.lowercased()
            if s.count == 3, s.hasSuffix("xx"), let d = Int(s.prefix(1)) {
                query.filters.append(.init(.field(.statusCode), .gt, .number(Double(d * 100 - 1))))
                query.filters.append(.init(.field(.statusCode), .lt, .number(Double(d * 100 + 100))))
            } else if let code = Int(s) {
                query.filters.append(.init(.field(.statusCode), .eq, .number(Double(code))))
            } else {
                throw ValidationError("--status must be a status such as 200 or a class such as 5xx")
            }
        }
        let result: (records: [RequestLogRecord], total: Int)
        do {
            result = try await store.query(query)
        } catch {
            await opened.close()
            throw error
        }
        await opened.close()
        let (records, total) = result
        FileHandle.standardOutput.write(Data((json ? LogsOutput.json(records) : LogsOutput.table(records, total: total)).utf8))
    }
}

enum LogsOutput {
    static func json(_ records: [RequestLogRecord]) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return records.map { (try? String(decoding: encoder.encode($0), as: UTF8.self)) ?? "{}" }.map { $0 + "\n" }.joined()
    }

    static func table(_ records: [RequestLogRecord], total: Int) -> String {
        let formatter = ISO8601DateFormatter()
        let header = ["TIME", "ID", "STATUS", "MODEL", "ROUTE", "CACHED", "MS", "IN", "OUT", "COST"]
        var rows = [header]
        for r in records {
            rows.append([
                formatter.string(from: Date(timeIntervalSince1970: r.createdAt)), r.id, String(r.statusCode),
                r.provider.isEmpty ? r.model : "\(r.provider)/\(r.model)", r.route ?? "-", r.cached ? "yes" : "no",
                String(Int(r.durationMs.rounded())), String(r.tokensIn), String(r.tokensOut), String(format: "%.6f", r.cost),
            ])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = rows.map { row in
            row.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
        out += "\n\(records.count) of \(total) records\n"
        return out
    }
}
