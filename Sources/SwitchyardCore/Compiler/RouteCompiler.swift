import Crypto
import Foundation

public struct RouteCompilerOptions: Sendable {
    /// Provider slugs a model id may start with.
    public var knownProviders: Set<String>
    /// Prices for budget reservations.
    public var prices: PriceTable
    public var maxSourceBytes: Int
    /// Deepest YAML nesting accepted (maps and lists inside each other).
    public var maxNestingDepth: Int
    /// Deepest condition expression accepted (parentheses, `not`, lists).
    public var maxExpressionDepth: Int
    public var maxRegexLength: Int
    public var maxNodes: Int

    public init(
        knownProviders: Set<String> = Set(ProviderCatalog.slugs), prices: PriceTable = PriceTable(),
        maxSourceBytes: Int = 1 << 20, maxNestingDepth: Int = 64, maxExpressionDepth: Int = 32,
        maxRegexLength: Int = 512, maxNodes: Int = 10_000
    ) {
        self.knownProviders = knownProviders
        self.prices = prices
        self.maxSourceBytes = maxSourceBytes
        self.maxNestingDepth = maxNestingDepth
        self.maxExpressionDepth = maxExpressionDepth
        self.maxRegexLength = maxRegexLength
        self.maxNodes = maxNodes
    }
}

public struct RouteCompilation: Sendable {
    /// The compiled route; nil when there are errors.
    public var graph: RouteGraph?
    /// Errors and warnings, in the order of their place in the file.
    public var diagnostics: [Diagnostic]
    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    public init(graph: RouteGraph?, diagnostics: [Diagnostic]) {
        self.graph = graph
        self.diagnostics = diagnostics
    }
}

/// Compiles route files (the YAML DSL or Cloudflare's route JSON) into immutable `RouteGraph`s.
/// Pure: reads nothing from disk, never traps on user input, and reports every problem of a file.
public enum RouteCompiler {
    public static func compile(_ source: RouteSource, options: RouteCompilerOptions = .init()) -> RouteCompilation {
        var sink = DiagnosticSink(path: source.path)
        let result = compile(source, options: options, sink: &sink)
        let sorted = sink.diagnostics.enumerated().sorted { a, b in
            (a.element.location.line, a.element.location.column, a.offset) < (b.element.location.line, b.element.location.column, b.offset)
        }.map(\.element)
        return RouteCompilation(graph: sink.hasErrors ? nil : result, diagnostics: sorted)
    }

    /// A whole directory: per-file results plus cross-file checks (duplicate route names).
    /// `graphs` holds the routes that compiled without errors, by route name.
    public static func compile(_ sources: [RouteSource], options: RouteCompilerOptions = .init())
        -> (graphs: [String: RouteGraph], results: [String: RouteCompilation], diagnostics: [Diagnostic])
    {
        var graphs: [String: RouteGraph] = [:]
        var results: [String: RouteCompilation] = [:]
        var diagnostics: [Diagnostic] = []
        var firstPath: [String: String] = [:]
        for source in sources.sorted(by: { $0.path < $1.path }) {
            var result = compile(source, options: options)
            if let graph = result.graph {
                if let other = firstPath[graph.name] {
                    let position = declaredNamePosition(in: source) ?? .start
                    result.diagnostics.append(Diagnostic(
                        .error, at: SourceLocation(path: source.path, line: position.line, column: position.column),
                        "duplicate route name '\(graph.name)': \(other) defines it too",
                        suggestion: "rename one of them (the name defaults to the file name)"))
                    result.graph = nil
                } else {
                    firstPath[graph.name] = source.path
                    graphs[graph.name] = graph
                }
            }
            results[source.path] = result
            diagnostics += result.diagnostics
        }
        return (graphs, results, diagnostics)
    }

    /// First 12 hex digits of the SHA-256 of the source text.
    public static func version(of contents: String) -> String {
        let digest = SHA256.hash(data: Data(contents.utf8))
        return digest.prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    /// The file name without directory and extension.
    public static func defaultName(forPath path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        if let dot = file.lastIndex(of: "."), dot != file.startIndex { return String(file[..<dot]) }
        return file
    }

    private static func compile(_ source: RouteSource, options: RouteCompilerOptions, sink: inout DiagnosticSink) -> RouteGraph? {
        let size = source.contents.utf8.count
        if size > options.maxSourceBytes {
            sink.error(.start, "the file is too large (\(size) bytes; the limit is \(options.maxSourceBytes))", suggestion: "split it into several route files")
            return nil
        }
        let root: YNode
        switch YAMLReader(maxDepth: options.maxNestingDepth).read(source.contents) {
        case .success(let node): root = node
        case .failure(let failure):
            switch failure {
            case .syntax(let p, let message):
                var hint: String?
                if message.contains("mapping values are not allowed") {
                    hint = "a value containing ': ' (a condition, say) must be quoted as a whole"
                } else if message.contains("found character that cannot start any token") {
                    hint = "indent with spaces, not tabs, and quote values that start with @ or `"
                } else if message.contains("while scanning a quoted scalar") {
                    hint = "a quoted value is not closed"
                } else if message.contains("did not find expected key") || message.contains("did not find expected '-' indicator") {
                    hint = "check the indentation of this line against the lines above it"
                }
                sink.error(p, "YAML syntax error: \(message)", suggestion: hint)
            case .duplicateKey(let p, let key, let first):
                sink.error(p, "duplicate key '\(key)' (first written at line \(first.line)); node names and keys must be unique within a map",
                           suggestion: "rename or remove one of them")
            case .tooDeep(let p):
                sink.error(p, "the document nests more than \(options.maxNestingDepth) levels deep", suggestion: "route files need only a few levels; flatten it")
            case .tooManyNodes:
                sink.error(.start, "the document expands to more than 200000 values (check its YAML aliases)")
            case .empty:
                sink.error(.start, "the file is empty", suggestion: "a route needs at least 'nodes:' with one node")
            }
            return nil
        }
        let lines = source.contents.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        let checks = FieldChecks(sink: sink, options: options, lines: lines)
        let declaration: RouteDeclaration
        let isCloudflare = root.pairs?.contains { $0.name == "elements" } == true && root.pairs?.contains { $0.name == "nodes" } != true
        var finalChecks: FieldChecks
        if isCloudflare {
            var frontEnd = CloudflareRouteFrontEnd(checks: checks)
            declaration = frontEnd.read(root)
            finalChecks = frontEnd.checks
        } else {
            var frontEnd = YAMLRouteFrontEnd(checks: checks)
            declaration = frontEnd.read(root)
            finalChecks = frontEnd.checks
        }
        var lowering = RouteLowering(checks: finalChecks, source: source)
        let graph = lowering.lower(declaration)
        sink = lowering.checks.sink
        return graph
    }

    private static func declaredNamePosition(in source: RouteSource) -> SourcePosition? {
        guard case .success(let root) = YAMLReader(maxDepth: 64).read(source.contents) else { return nil }
        return root.pairs?.first { $0.name == "name" }?.value.position
    }
}
