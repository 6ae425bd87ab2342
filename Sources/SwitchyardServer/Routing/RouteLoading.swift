import Foundation
import SwitchyardCore

/// Loads and compiles the route files of `serve`'s routes directory. A file that fails to compile is
/// left out and its diagnostics are reported; the others are served.
public enum RouteLoading {
    public static func load(directory: String, configuration: GatewayConfiguration) -> RouteCatalog {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return RouteCatalog(errors: ["\(directory): warning: no such directory; no dynamic routes are served"])
        }
        let (sources, failures) = RouteFileLoader.load([directory])
        let compiled = RouteCompiler.compile(sources, options: RouteCompilerOptions(configuration: configuration))
        let messages = failures.map(\.description) + compiled.diagnostics.map(\.description)
        return RouteCatalog(graphs: Array(compiled.graphs.values), errors: messages)
    }

    /// Names, sizes and modification times of the route files: what a reload watches.
    static func signature(of directory: String) -> [String: String] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [:] }
        var out: [String: String] = [:]
        for name in names where RouteFileLoader.isRouteFile(name) {
            let path = directory + "/" + name
            let attributes = try? fm.attributesOfItem(atPath: path)
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            out[name] = "\(size)@\(modified)"
        }
        return out
    }
}

extension RouteCompilerOptions {
    /// What a configuration adds to the compiler: its custom providers and its price overrides.
    /// `serve`, `explain` and `graph` compile with the same options, so they agree on what compiles.
    public init(configuration: GatewayConfiguration) {
        var known = Set(ProviderCatalog.slugs)
        for slug in configuration.providers.keys where ProviderCatalog.provider(slug: slug) == nil {
            known.insert(slug)
            known.insert("custom-\(slug)")
        }
        self.init(knownProviders: known, prices: PriceTable(overrides: configuration.pricing))
    }
}
