/// The text `switchyard check` prints: every diagnostic, then one summary line.
public enum RouteCheckReport {
    /// - Parameters:
    ///   - loadFailures: lines for files that could not be read (`path: error: message`); each counts as an error.
    /// - Returns: the text and the exit status (1 on any error).
    public static func render(
        results: [String: RouteCompilation], diagnostics: [Diagnostic], loadFailures: [String] = []
    ) -> (text: String, status: Int32) {
        var lines = loadFailures
        lines += diagnostics.map(\.description)
        let errors = diagnostics.filter { $0.severity == .error }.count + loadFailures.count
        let warnings = diagnostics.filter { $0.severity == .warning }.count
        let failedFiles = Set(diagnostics.filter { $0.severity == .error }.map(\.location.path)).count + loadFailures.count
        let ok = results.values.filter { $0.graph != nil }.count
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        if errors == 0 {
            if results.isEmpty {
                lines.append("no route files found")
            } else {
                lines.append("\(plural(ok, "route")) OK" + (warnings > 0 ? ", \(plural(warnings, "warning"))" : ""))
            }
            return (lines.joined(separator: "\n") + "\n", 0)
        }
        lines.append("\(plural(errors, "error")), \(plural(warnings, "warning")) in \(plural(failedFiles, "file"))"
            + (ok > 0 ? "; \(plural(ok, "route")) OK" : ""))
        return (lines.joined(separator: "\n") + "\n", 1)
    }
}
