import SwitchyardCore
import SwitchyardStorage

/// Opens the request-log store the configuration's `storage` names.
public enum RequestLogStorage {
    public struct Unsupported: Error, CustomStringConvertible {
        public let description: String
    }

    /// `sqlite:PATH` (WAL mode) or `memory`. `postgres://` is not built yet: it is an error, not a
    /// silent fallback.
    public static func open(_ storage: String) throws -> any RequestLogStore {
        if storage == "memory" { return try SQLiteDatabase(path: ":memory:") }
        guard let path = SQLiteDatabase.path(fromStorageURL: storage) else {
            throw Unsupported(description: "storage '\(storage)' is not supported yet: use sqlite:<file> or memory")
        }
        return try SQLiteDatabase(path: path)
    }
}
