import Yams

/// Parses text into a `YNode` tree with bounded size and depth: the one YAML reader of route files
/// and the configuration file.
package struct YAMLReader {
    package var maxDepth: Int
    /// Upper bound on nodes after alias expansion (a "billion laughs" document stops here).
    package var maxNodes: Int = 200_000

    package init(maxDepth: Int, maxNodes: Int = 200_000) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
    }

    package enum Failure: Error {
        case syntax(SourcePosition, String)
        case duplicateKey(SourcePosition, key: String, first: SourcePosition)
        case tooDeep(SourcePosition)
        case tooManyNodes
        case empty
    }

    package func read(_ text: String) -> Result<YNode, Failure> {
        if let p = Self.excessiveNesting(text, limit: maxDepth) { return .failure(.tooDeep(p)) }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, Resolver.basic)
        } catch let error as YamlError {
            return .failure(Self.failure(error, text: text))
        } catch {
            return .failure(.syntax(.start, "\(error)"))
        }
        guard let root else { return .failure(.empty) }
        var budget = maxNodes
        return convert(root, depth: 0, budget: &budget)
    }

    private func convert(_ node: Node, depth: Int, budget: inout Int) -> Result<YNode, Failure> {
        let position = node.mark.map { SourcePosition(line: $0.line, column: $0.column) } ?? .start
        if depth > maxDepth { return .failure(.tooDeep(position)) }
        budget -= 1
        if budget < 0 { return .failure(.tooManyNodes) }
        switch node {
        case .scalar(let s):
            let style: YScalar.Style
            switch s.style {
            case .singleQuoted: style = .singleQuoted
            case .doubleQuoted: style = .doubleQuoted
            case .literal: style = .literal
            case .folded: style = .folded
            default: style = .plain
            }
            let tag = s.tag.rawValue
            let explicit = tag.hasPrefix("tag:yaml.org,2002:") || tag.isEmpty || tag == "!" ? nil : tag
            return .success(YNode(value: .scalar(YScalar(text: s.string, style: style, explicitTag: explicit)), position: position))
        case .mapping(let m):
            var pairs: [YPair] = []
            var merged: [YPair] = []
            pairs.reserveCapacity(m.count)
            for (k, v) in m {
                switch (convert(k, depth: depth + 1, budget: &budget), convert(v, depth: depth + 1, budget: &budget)) {
                case (.success(let key), .success(let value)):
                    // `<<: *defaults` (YAML merge keys) copies the keys a map does not set itself.
                    if key.scalar?.text == "<<", key.scalar?.style == .plain, value.pairs != nil || value.items?.allSatisfy({ $0.pairs != nil }) == true {
                        merged += value.pairs ?? value.items?.flatMap { $0.pairs ?? [] } ?? []
                    } else {
                        pairs.append(YPair(key: key, value: value))
                    }
                case (.failure(let f), _), (_, .failure(let f)): return .failure(f)
                }
            }
            if !merged.isEmpty {
                var present = Set(pairs.map(\.name))
                for pair in merged where present.insert(pair.name).inserted { pairs.append(pair) }
            }
            return .success(YNode(value: .mapping(pairs), position: position))
        case .sequence(let s):
            var items: [YNode] = []
            for item in s {
                switch convert(item, depth: depth + 1, budget: &budget) {
                case .success(let n): items.append(n)
                case .failure(let f): return .failure(f)
                }
            }
            return .success(YNode(value: .sequence(items), position: position))
        case .alias(let a):
            let p = a.mark.map { SourcePosition(line: $0.line, column: $0.column) } ?? position
            return .failure(.syntax(p, "unresolved YAML alias"))
        }
    }

    private static func failure(_ error: YamlError, text: String) -> Failure {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = problem
            if let context, !context.text.isEmpty { message = "\(problem) (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            return .syntax(SourcePosition(line: max(mark.line, 1), column: max(mark.column, 1)), message)
        case .reader(let problem, let offset, _, _):
            return .syntax(position(ofUTF8Offset: offset ?? 0, in: text), problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let first = SourcePosition(line: max(context.mark.line, 1), column: max(context.mark.column, 1))
            return .duplicateKey(secondOccurrence(of: key, after: first, in: text) ?? first, key: key, first: first)
        default:
            return .syntax(.start, "\(error)")
        }
    }

    private static func position(ofUTF8Offset offset: Int, in text: String) -> SourcePosition {
        var line = 1, column = 1, seen = 0
        for scalar in text.unicodeScalars {
            if seen >= offset { break }
            seen += String(scalar).utf8.count
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourcePosition(line: line, column: column)
    }

    /// Where a duplicated key is written the second time: Yams reports only the first.
    private static func secondOccurrence(of key: String, after first: SourcePosition, in text: String) -> SourcePosition? {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        var firstSkipped = false
        for (i, line) in lines.enumerated() where i + 1 >= first.line {
            let scalars = Array(line.unicodeScalars)
            var start = 0
            if i + 1 == first.line { start = first.column - 1 }
            var col = start
            while col < scalars.count {
                for candidate in [key + ":", "\"" + key + "\"", "'" + key + "'"] {
                    let c = Array(candidate.unicodeScalars)
                    if col + c.count <= scalars.count, Array(scalars[col..<(col + c.count)]) == c,
                       col == 0 || !(scalars[col - 1].properties.isAlphabetic || ("0"..."9").contains(scalars[col - 1]) || scalars[col - 1] == "_" || scalars[col - 1] == "-") {
                        if firstSkipped { return SourcePosition(line: i + 1, column: col + 1) }
                        firstSkipped = true
                        col += c.count - 1
                        break
                    }
                }
                col += 1
            }
        }
        return nil
    }

    /// A cheap scan before the YAML parser (which recurses once per level) sees the text: flow
    /// brackets outside quotes, and the width of block indentation and `- ` markers.
    static func excessiveNesting(_ text: String, limit: Int) -> SourcePosition? {
        var depth = 0
        var line = 1, column = 0
        var quote: Unicode.Scalar?
        var escaped = false
        var previous: Unicode.Scalar = "\n"
        var atLineStart = true
        var prefixWidth = 0
        var inComment = false
        for s in text.unicodeScalars {
            column += 1
            if s == "\n" {
                line += 1; column = 0; atLineStart = true; prefixWidth = 0; inComment = false
                if quote == "'" { quote = nil }
                previous = s
                continue
            }
            if inComment { previous = s; continue }
            if atLineStart {
                if s == " " || s == "\t" || ((s == "-" || s == "?" || s == ":") ) {
                    prefixWidth += 1
                    if prefixWidth > limit * 4 { return SourcePosition(line: line, column: column) }
                    previous = s
                    continue
                }
                atLineStart = false
            }
            if let q = quote {
                if escaped { escaped = false } else if s == "\\" && q == "\"" { escaped = true } else if s == q { quote = nil }
                previous = s
                continue
            }
            switch s {
            case "\"", "'": if [" ", "\t", "[", "{", ",", ":", "\n"].contains(previous) { quote = s }
            case "#": if previous == " " || previous == "\t" || previous == "\n" { inComment = true }
            case "[", "{":
                depth += 1
                if depth > limit { return SourcePosition(line: line, column: column) }
            case "]", "}": depth = max(0, depth - 1)
            default: break
            }
            previous = s
        }
        return nil
    }
}
