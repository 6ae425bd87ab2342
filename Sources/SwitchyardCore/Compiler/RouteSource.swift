/// A route file's path and contents; the compiler reads nothing from disk itself.
public struct RouteSource: Sendable, Hashable {
    public var path: String
    public var contents: String

    public init(path: String, contents: String) {
        self.path = path
        self.contents = contents
    }
}
