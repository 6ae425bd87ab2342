import Foundation
import SwitchyardCore

/// Reads route files from disk for the compiler (which does no I/O itself): the `*.yaml`,
/// `*.yml` and `*.json` files of a directory (not recursive, hidden files skipped, sorted by
/// name), or the files named directly.
public enum RouteFileLoader {
    public static let extensions: Set<String> = ["yaml", "yml", "json"]

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): error: \(message)" }
    }

    public static func isRouteFile(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        return !name.hasPrefix(".") && extensions.contains((name as NSString).pathExtension.lowercased())
    }

    /// Loads every path; problems (missing paths, unreadable or oversized files) are returned,
    /// not thrown, so one bad file does not hide the others.
    public static func load(_ paths: [String], maxBytes: Int = 1 << 20) -> (sources: [RouteSource], failures: [Failure]) {
        var sources: [RouteSource] = []
        var failures: [Failure] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                failures.append(Failure(path: path, message: "no such file or directory"))
                continue
            }
            if isDirectory.boolValue {
                let names: [String]
                do {
                    names = try fm.contentsOfDirectory(atPath: path)
                } catch {
                    failures.append(Failure(path: path, message: "cannot read the directory: \(error.localizedDescription)"))
                    continue
                }
                let base = path.hasSuffix("/") ? String(path.dropLast()) : path
                for name in names.sorted() where isRouteFile(name) {
                    let file = "\(base)/\(name)"
                    var isDir: ObjCBool = false
                    if fm.fileExists(atPath: file, isDirectory: &isDir), isDir.boolValue { continue }
                    switch read(file, maxBytes: maxBytes) {
                    case .success(let s): sources.append(s)
                    case .failure(let f): failures.append(f)
                    }
                }
            } else {
                switch read(path, maxBytes: maxBytes) {
                case .success(let s): sources.append(s)
                case .failure(let f): failures.append(f)
                }
            }
        }
        return (sources, failures)
    }

    /// One file. A file over `maxBytes` is not read into memory.
    public static func read(_ path: String, maxBytes: Int = 1 << 20) -> Result<RouteSource, Failure> {
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        if size > maxBytes {
            return .failure(Failure(path: path, message: "the file is too large (\(size) bytes; the limit is \(maxBytes))"))
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(Failure(path: path, message: "cannot read the file"))
        }
        guard let text = String(data: data, encoding: .utf8) else {
            return .failure(Failure(path: path, message: "the file is not UTF-8 text"))
        }
        return .success(RouteSource(path: path, contents: text))
    }
}
