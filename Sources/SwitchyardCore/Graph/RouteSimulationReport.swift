import Foundation

/// What `switchyard simulate` prints: a side-by-side table (text) or one JSON object.
public enum RouteSimulationReport {
    /// `source`: the file the new version came from.
    public static func text(_ r: RouteSimulationResult, source: String) -> String {
        var out = "route \(r.route): logged requests replayed through \(r.route)@\(r.version) (\(source)), seed \(r.seed)\n"
        if let first = r.firstAt, let last = r.lastAt {
            out += "\(r.requests) requests from \(timestamp(first)) to \(timestamp(last))"
        } else {
            out += "\(r.requests) requests"
        }
        if r.cachedSkipped > 0 { out += "; \(r.cachedSkipped) cache hits not replayed (they never ran the route)" }
        out += "\n"
        if !r.loggedVersions.isEmpty {
            out += "logged versions: " + r.loggedVersions.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) (\($0.value))" }.joined(separator: ", ") + "\n"
        }
        out += "breakers and max_concurrency are not gated (as in explain); a model the logged request failed on fails again\n"
        guard r.requests > 0 else { return out + "nothing to compare: no logged requests of this route in the period\n" }

        out += "\n" + table(title: "PATH", before: r.pathsBefore, after: r.pathsAfter, r)
        out += "\n" + table(title: "MODEL", before: r.modelsBefore, after: r.modelsAfter, r)
        out += "\n"
        let rows: [[String]] = [
            ["", "BEFORE", "AFTER"],
            ["cost (USD, estimated after)", money(r.costBefore), money(r.costAfter)],
            ["limit rejections (429)", String(r.limitRejectionsBefore), String(r.limitRejectionsAfter)],
        ]
        out += align(rows)
        if !r.rejectionsAfterByNode.isEmpty {
            out += "  after, by node: " + r.rejectionsAfterByNode.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
        }
        if r.estimatedTokens > 0 {
            out += "  \(r.estimatedTokens) requests that reached no model before are priced on their token estimates\n"
        }
        if !r.unpricedModels.isEmpty {
            out += "  not in the price table (priced at 0): \(r.unpricedModels.sorted().joined(separator: ", "))\n"
        }
        out += "\npath changed: \(r.pathChanged) requests (\(percent(r.share(r.pathChanged))))"
        out += "; model changed: \(r.modelChanged) (\(percent(r.share(r.modelChanged))))\n"
        for c in r.examples {
            out += "  \(c.id): \(c.pathBefore.isEmpty ? "-" : c.pathBefore) → \(c.pathAfter) (\(c.modelBefore) → \(c.modelAfter))\n"
        }
        out += "facts missing: \(r.factsMissing) requests; they are evaluated with the member absent"
        if !r.missingFacts.isEmpty {
            out += " (" + r.missingFacts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"
        }
        out += "\n"
        if r.withoutFacts > 0 { out += "  \(r.withoutFacts) records were logged without route facts (metadata only)\n" }
        if r.outOfOrder > 0 { out += "  \(r.outOfOrder) records came out of time order\n" }
        return out
    }

    public static func json(_ r: RouteSimulationResult, source: String) -> JSONValue {
        func counts(_ d: [String: Int]) -> JSONValue {
            .object(d.mapValues { n in .object(["requests": .number(Double(n)), "share": .number(rounded(r.share(n)))]) })
        }
        var o: [String: JSONValue] = [
            "route": .string(r.route), "version": .string(r.version), "source": .string(source), "seed": .number(Double(r.seed)),
            "requests": .number(Double(r.requests)), "cached_skipped": .number(Double(r.cachedSkipped)),
            "logged_versions": .object(r.loggedVersions.mapValues { .number(Double($0)) }),
            "gated": .bool(false),
            "paths": .object(["before": counts(r.pathsBefore), "after": counts(r.pathsAfter)]),
            "models": .object(["before": counts(r.modelsBefore), "after": counts(r.modelsAfter)]),
            "cost": .object(["before": .number(rounded(r.costBefore)), "after": .number(rounded(r.costAfter)),
                             "estimated_from_token_estimates": .number(Double(r.estimatedTokens)),
                             "unpriced_models": .array(r.unpricedModels.sorted().map { .string($0) })]),
            "limit_rejections": .object(["before": .number(Double(r.limitRejectionsBefore)), "after": .number(Double(r.limitRejectionsAfter)),
                                         "after_by_node": .object(r.rejectionsAfterByNode.mapValues { .number(Double($0)) })]),
            "path_changed": .number(Double(r.pathChanged)),
            "model_changed": .number(Double(r.modelChanged)),
            "changed_examples": .array(r.examples.map { c in
                .object(["id": .string(c.id), "path_before": .string(c.pathBefore), "path_after": .string(c.pathAfter),
                         "model_before": .string(c.modelBefore), "model_after": .string(c.modelAfter)])
            }),
            "facts_missing": .number(Double(r.factsMissing)),
            "missing_facts": .object(r.missingFacts.mapValues { .number(Double($0)) }),
            "without_facts": .number(Double(r.withoutFacts)),
            "out_of_order": .number(Double(r.outOfOrder)),
        ]
        if let first = r.firstAt { o["from"] = .number(first) }
        if let last = r.lastAt { o["to"] = .number(last) }
        return .object(o)
    }

    static func table(title: String, before: [String: Int], after: [String: Int], _ r: RouteSimulationResult) -> String {
        let keys = Set(before.keys).union(after.keys).sorted { a, b in
            let (x, y) = (before[a, default: 0] + after[a, default: 0], before[b, default: 0] + after[b, default: 0])
            return x != y ? x > y : a < b
        }
        var rows: [[String]] = [[title, "BEFORE", "", "AFTER", "", "CHANGE"]]
        for k in keys {
            let b = before[k, default: 0], a = after[k, default: 0]
            let delta = (r.share(a) - r.share(b)) * 100
            rows.append([k.isEmpty ? "-" : k, String(b), percent(r.share(b)), String(a), percent(r.share(a)),
                         (delta >= 0 ? "+" : "") + String(format: "%.1f", delta) + " pt"])
        }
        return align(rows)
    }

    /// Columns left-aligned, two spaces apart; numbers right-aligned.
    static func align(_ rows: [[String]]) -> String {
        let n = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: n)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.enumerated().map { r, row in
            row.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i == 0 || r == 0 ? c + pad : pad + c
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }

    static func percent(_ x: Double) -> String { String(format: "%.1f %%", x * 100) }
    static func money(_ x: Double) -> String { String(format: "$%.6f", x) }
    static func rounded(_ x: Double) -> Double { (x * 1e6).rounded() / 1e6 }

    static func timestamp(_ t: Double) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: t.rounded(.down)))
    }
}
