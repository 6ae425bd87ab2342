/// Loads the dynamic routes for `serve`. Route compilation is not wired in yet: no route is
/// served and `dynamic/...` answers 404/2042.
public enum RouteLoading {
    public static func load(directory: String) -> RouteCatalog {
        RouteCatalog()
    }
}
