import SwitchyardCore
import SwitchyardStorage

/// The configuration's `storage`, opened once: one SQLite database holds the request log and the
/// limit snapshots (two connections to one file would each run the migrations and contend for
/// SQLite's single writer).
public enum GatewayStorage {
    public struct Unsupported: Error, CustomStringConvertible {
        public let description: String
    }

    /// `sqlite:PATH` (WAL mode; `durable`), or `memory` (an in-memory request log, limits that
    /// start fresh). `postgres://` is not built yet: an error, not a silent fallback.
    public static func open(_ storage: String) throws -> (database: SQLiteDatabase, durable: Bool) {
        if storage == "memory" { return (try SQLiteDatabase(path: ":memory:"), false) }
        if storage.hasPrefix("postgres://") || storage.hasPrefix("postgresql://") {
            throw Unsupported(description: "PostgreSQL storage is not supported yet; use sqlite:<file> or memory")
        }
        guard let path = SQLiteDatabase.path(fromStorageURL: storage) else {
            throw Unsupported(description: "'\(storage)' is not sqlite:<file> or memory")
        }
        return (try SQLiteDatabase(path: path), true)
    }
}
