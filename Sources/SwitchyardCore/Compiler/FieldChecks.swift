import Foundation

/// Field-level checks shared by both front ends: durations, model ids, paths, key sets.
struct FieldChecks {
    var sink: DiagnosticSink
    let options: RouteCompilerOptions
    /// The file's lines, to map offsets inside a scalar to columns.
    let lines: [Substring]

    var conditionLimits: ConditionLimits { ConditionLimits(maxDepth: options.maxExpressionDepth, maxRegexLength: options.maxRegexLength) }

    static let durationHint = "use 250ms, 20s, 5m, 1h, 1d"

    mutating func duration(_ node: YNode, field: String) -> Seconds? {
        guard let s = node.scalar else {
            sink.error(node.position, "'\(field)' must be a duration such as 20s, found \(node.kindDescription)", suggestion: Self.durationHint)
            return nil
        }
        if case .number(let n) = s.typed {
            sink.error(node.position, "'\(s.text)' is not a duration: it has no unit", suggestion: "write \(RouteRun.format(n))s (or \(Self.durationHint))")
            return nil
        }
        guard let d = DurationText.parse(s.text) else {
            sink.error(node.position, "'\(s.text)' is not a duration", suggestion: Self.durationHint)
            return nil
        }
        return bounded(d, at: node.position, text: s.text)
    }

    /// The longest window, timeout or backoff accepted.
    static let maxDuration: Seconds = 365 * 86400

    mutating func bounded(_ d: Seconds, at position: SourcePosition, text: String) -> Seconds? {
        guard d <= Self.maxDuration else {
            sink.error(position, "'\(text)' is too long: durations are at most 365d")
            return nil
        }
        return d
    }

    mutating func positiveNumber(_ node: YNode, field: String, what: String) -> Double? {
        guard case .number(let n) = node.scalar?.typed else {
            sink.error(node.position, "'\(field)' must be a number (\(what)), found \(node.kindDescription)")
            return nil
        }
        guard n > 0 else {
            sink.error(node.position, "'\(field)' must be greater than 0, found \(node.text ?? "")", suggestion: "to block every request, send it to 'reject'")
            return nil
        }
        return n
    }

    mutating func string(_ node: YNode, field: String) -> String? {
        guard let s = node.scalar, s.typed.stringValue != nil || s.isQuoted else {
            sink.error(node.position, "'\(field)' must be a string, found \(node.kindDescription)")
            return nil
        }
        return s.text
    }

    mutating func target(_ node: YNode, field: String) -> TargetRef? {
        guard let s = node.scalar, !s.text.isEmpty, s.typed.stringValue != nil || s.isQuoted else {
            sink.error(node.position, "'\(field)' must name a node, 'reject' or a model id such as openai/gpt-5-mini, found \(node.kindDescription)")
            return nil
        }
        return TargetRef(text: s.text, position: node.position)
    }

    /// `provider/model`, with the provider checked against the known ones.
    mutating func modelID(_ text: String, at position: SourcePosition) -> ModelTarget? {
        guard let target = ModelTarget(text), !text.contains(where: { $0 == " " || $0 == "\t" }) else {
            let bare = text.trimmingCharacters(in: .whitespaces)
            let known = PriceTable.builtin.keys.first { $0.hasSuffix("/" + bare) }
            sink.error(position, "'\(text)' is not a model id: write provider/model", suggestion: known.map { "did you mean '\($0)'?" } ?? "for example openai/gpt-5-mini")
            return nil
        }
        guard options.knownProviders.contains(target.provider) else {
            let hint = NameSuggestion.didYouMean(target.provider, in: options.knownProviders.sorted())
                ?? "known providers: \(options.knownProviders.sorted().joined(separator: ", "))"
            sink.error(position, "unknown provider '\(target.provider)' in '\(text)'", suggestion: hint)
            return nil
        }
        return target
    }

    /// A key path (`metadata.user_id`) for limits and sticky splits.
    mutating func path(_ node: YNode, field: String) -> ValuePath? {
        guard let s = node.scalar, s.typed.stringValue != nil || s.isQuoted, !s.text.isEmpty else {
            sink.error(node.position, "'\(field)' must be a path such as metadata.user_id, found \(node.kindDescription)")
            return nil
        }
        switch ConditionParser.path(s.text, limits: conditionLimits) {
        case .success(let path) where path.isLive || path.root == .request:
            sink.error(node.position, "'\(field)' cannot be \(path): a key comes from the request's metadata, headers or body",
                       suggestion: "for example metadata.user_id or headers[\"x-user\"]")
            return nil
        case .success(let path): return path
        case .failure(let issue):
            sink.error(node.position, "'\(s.text)' is not a valid path: \(issue.message)",
                       suggestion: issue.suggestion ?? "for example metadata.user_id or headers[\"x-user\"]")
            return nil
        }
    }

    /// Unknown keys of a map, each with the nearest valid key.
    mutating func rejectUnknownKeys(_ pairs: [YPair], allowed: [String], context: String) {
        for pair in pairs where !allowed.contains(pair.name) {
            let hint = NameSuggestion.didYouMean(pair.name, in: allowed) ?? "valid keys: \(allowed.joined(separator: ", "))"
            sink.error(pair.key.position, "unknown key '\(pair.name)' in \(context)", suggestion: hint)
        }
    }

    /// Compiles a condition expression, mapping offsets in the text to file positions.
    mutating func condition(_ node: YNode, mongo: Bool) -> (Condition, String)? {
        if mongo, node.pairs != nil {
            let lines = self.lines
            var compiler = MongoConditionCompiler(limits: conditionLimits, sink: sink) { node, offset in
                FieldChecks.position(in: node, offset: offset, lines: lines)
            }
            let c = compiler.compile(node)
            sink = compiler.sink
            return c.map { ($0, $0.expressionText) }
        }
        guard let s = node.scalar else {
            sink.error(node.position, "'if' must be an expression or a condition map, found \(node.kindDescription)")
            return nil
        }
        if let tag = s.explicitTag {
            sink.error(node.position, "YAML reads '\(tag)' at the start of this expression as a tag", suggestion: "quote the whole expression: if: '\(tag) \(s.text)'")
            return nil
        }
        if case .bool(let b) = s.typed { return (.constant(b), s.text) }
        let (condition, issues) = ConditionParser.compile(s.text, limits: conditionLimits)
        for issue in issues {
            let p = position(in: node, offset: issue.offset)
            if issue.severity == .error { sink.error(p, issue.message, suggestion: issue.suggestion) } else { sink.warning(p, issue.message, suggestion: issue.suggestion) }
        }
        guard let condition else { return nil }
        return (condition, s.text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The file position of the `offset`-th Unicode scalar of a scalar's value. Exact for
    /// single-line plain and quoted scalars (escapes such as `\"` and `''` included) and for
    /// literal blocks; close for folded text.
    func position(in node: YNode, offset: Int) -> SourcePosition {
        Self.position(in: node, offset: offset, lines: lines)
    }

    static func position(in node: YNode, offset: Int, lines: [Substring]) -> SourcePosition {
        guard let s = node.scalar else { return node.position }
        if s.style == .singleQuoted || s.style == .doubleQuoted,
           let column = quotedColumn(lines: lines, at: node.position, doubleQuoted: s.style == .doubleQuoted, offset: offset) {
            return SourcePosition(line: node.position.line, column: column)
        }
        func lineLength(_ line: Int) -> Int {
            guard line >= 1, line <= lines.count else { return 0 }
            return lines[line - 1].unicodeScalars.count
        }
        func indent(_ line: Int) -> Int {
            guard line >= 1, line <= lines.count else { return 0 }
            return lines[line - 1].unicodeScalars.prefix { $0 == " " || $0 == "\t" }.count
        }
        var line = node.position.line
        var column = node.position.column
        switch s.style {
        case .plain: break
        case .singleQuoted, .doubleQuoted: column += 1
        case .literal, .folded:
            line += 1
            column = indent(line) + 1
        }
        // Block scalars keep the indentation beyond their first line's; plain and quoted
        // continuation lines drop all of it.
        let blockIndent: Int? = (s.style == .literal || s.style == .folded) ? column - 1 : nil
        var remaining = offset
        while true {
            let available = lineLength(line) - (column - 1)
            if remaining <= available || line >= lines.count { return SourcePosition(line: line, column: column + remaining) }
            remaining -= available + 1
            line += 1
            column = (blockIndent ?? indent(line)) + 1
        }
    }

    /// The column of the `offset`-th scalar of a quoted scalar's value, stepping over escapes,
    /// when the value up to there sits on the quote's line; nil otherwise.
    private static func quotedColumn(lines: [Substring], at quote: SourcePosition, doubleQuoted: Bool, offset: Int) -> Int? {
        guard quote.line >= 1, quote.line <= lines.count else { return nil }
        let raw = Array(lines[quote.line - 1].unicodeScalars)
        guard quote.column >= 1, quote.column - 1 < raw.count, raw[quote.column - 1] == (doubleQuoted ? "\"" : "'") else { return nil }
        var k = quote.column  // the first scalar after the quote, 0-based
        for _ in 0..<offset {
            guard k < raw.count else { return nil }
            let c = raw[k]
            if doubleQuoted {
                if c == "\"" { return nil }
                if c == "\\" {
                    guard k + 1 < raw.count else { return nil }
                    switch raw[k + 1] {
                    case "x": k += 4
                    case "u": k += 6
                    case "U": k += 10
                    default: k += 2
                    }
                } else {
                    k += 1
                }
            } else if c == "'" {
                guard k + 1 < raw.count, raw[k + 1] == "'" else { return nil }
                k += 2
            } else {
                k += 1
            }
        }
        return k + 1
    }
}
