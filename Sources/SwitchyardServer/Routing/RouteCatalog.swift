import SwitchyardCore
import SwitchyardProviders

/// The dynamic routes (`dynamic/<name>`) the gateway serves. Route compilation plugs in here: it
/// turns a route run into the ordered attempts that `Dispatcher` executes. Until then no route
/// is loaded and every `dynamic/...` model is an unknown route.
public struct RouteCatalog: Sendable {
    public let names: [String]
    /// Route files that failed to load, as `path:line:column: error: message` lines.
    public let errors: [String]

    public init(names: [String] = [], errors: [String] = []) {
        self.names = names
        self.errors = errors
    }

    func attempts(route: String, providers: ProviderTable) throws(GatewayError) -> [DispatchAttempt] {
        throw .unknownRoute(route, known: names)
    }
}
