/// Collects a file's diagnostics; every stage keeps going after an error so a file reports all
/// of its problems at once.
struct DiagnosticSink {
    let path: String
    private(set) var diagnostics: [Diagnostic] = []

    init(path: String) { self.path = path }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    mutating func error(_ at: SourcePosition, _ message: String, suggestion: String? = nil) {
        diagnostics.append(Diagnostic(.error, at: location(at), message, suggestion: suggestion))
    }

    mutating func warning(_ at: SourcePosition, _ message: String, suggestion: String? = nil) {
        diagnostics.append(Diagnostic(.warning, at: location(at), message, suggestion: suggestion))
    }

    func location(_ p: SourcePosition) -> SourceLocation { SourceLocation(path: path, line: p.line, column: p.column) }
}

/// A 1-based line and column inside the file being compiled.
package struct SourcePosition: Sendable, Hashable, Comparable {
    package var line: Int
    package var column: Int
    package static let start = SourcePosition(line: 1, column: 1)
    package static func < (a: SourcePosition, b: SourcePosition) -> Bool { (a.line, a.column) < (b.line, b.column) }
}
