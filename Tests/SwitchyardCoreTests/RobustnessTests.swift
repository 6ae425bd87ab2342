import Foundation
import Testing
@testable import SwitchyardCore

/// Seeded random damage to valid routes and random token soup: the compiler must answer with
/// a graph or with located errors, never crash or hang.
@Suite struct RobustnessTests {
    static let yamlTokens = [
        ":", ": ", "- ", "[", "]", "{", "}", ",", "\"", "'", "&a ", "*a", "\n", "  ", "\t", "%", "#", "!!str ", "? ", "|", ">",
        "nodes:", "then:", "else:", "if:", "split:", "model:", "reject", "fallback:", "100%", "-1", "1e309", "null", "~", "true",
        "openai/", "/", "metadata.", "==", "$eq", "\u{0}", "é", "🚀", "\\", "\r\n", "<<: *a", "---", "...", "@", "`",
    ]
    static let exprTokens = [
        "metadata.plan", "headers[\"x\"]", "body.messages", ".length", "[0]", "[-1]", "model", "gateway", "==", "!=", "<", "<=", ">",
        ">=", "in", "not", "and", "or", "&&", "||", "!", "(", ")", "[", "]", ",", "\"a\"", "'b'", "3", "-2.5", "true", "null",
        "contains", "startsWith", "matches", "\"(a+)+\"", "\"[\"", "exists", "=", "&", "|", ".", "\"unterminated", "metdata.x", "1e999",
    ]

    static func bases() throws -> [String] {
        var texts: [String] = []
        for file in ["customer-support.yaml", "fallback-chain.yaml", "canary.yaml", "cloudflare-support.json"] {
            texts.append(try Repo.source("routes/\(file)").contents)
        }
        return texts
    }

    static func mutate(_ text: String, rng: inout SplitMix64) -> String {
        var scalars = Array(text.unicodeScalars)
        let edits = Int(rng.next() % 4) + 1
        for _ in 0..<edits {
            let at = scalars.isEmpty ? 0 : Int(rng.next() % UInt64(scalars.count))
            switch rng.next() % 6 {
            case 0:  // delete a range
                let len = min(Int(rng.next() % 12) + 1, scalars.count - at)
                if len > 0 { scalars.removeSubrange(at..<(at + len)) }
            case 1, 2:  // insert a token
                let token = yamlTokens[Int(rng.next() % UInt64(yamlTokens.count))]
                scalars.insert(contentsOf: token.unicodeScalars, at: at)
            case 3:  // duplicate a span
                let len = min(Int(rng.next() % 40) + 1, scalars.count - at)
                if len > 0 { scalars.insert(contentsOf: scalars[at..<(at + len)], at: at) }
            case 4:  // truncate
                scalars.removeSubrange(at...)
            default:  // replace one character
                if at < scalars.count { scalars[at] = Unicode.Scalar(UInt8(32 + rng.next() % 95)) }
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    static func check(_ result: RouteCompilation) {
        if result.graph == nil {
            #expect(result.hasErrors)
        } else {
            #expect(!result.hasErrors)
        }
        for d in result.diagnostics {
            #expect(d.location.line >= 1 && d.location.column >= 1 && !d.message.isEmpty)
        }
    }

    @Test func mutatedRoutesNeverCrash() throws {
        let bases = try Self.bases()
        var rng = SplitMix64(seed: 2026)
        var compiled = 0, rejected = 0
        for i in 0..<8_000 {
            let base = bases[i % bases.count]
            let text = Self.mutate(base, rng: &rng)
            let result = RouteCompiler.compile(RouteSource(path: i % bases.count == 3 ? "f.json" : "f.yaml", contents: text))
            Self.check(result)
            if result.graph != nil { compiled += 1 } else { rejected += 1 }
            if let graph = result.graph {
                // Whatever compiles must also run.
                var run = RouteRun(graph: graph)
                var r = SplitMix64(seed: UInt64(i))
                _ = run.start(facts: RequestFacts(metadata: ["plan": .string("paid")]), limits: InMemoryLimitStore(), now: 0, rng: &r)
                // ... and render for `graph` and `explain`.
                #expect(!RouteGraphRenderer.mermaid(graph).isEmpty && !RouteGraphRenderer.dot(graph).isEmpty)
                if i % 8 == 0 {
                    #expect(RouteExplanation.render(graph: graph, facts: RequestFacts(), seed: UInt64(i), now: 0).contains("x-switchyard-path"))
                }
            }
        }
        // The mutations are neither all harmless nor all fatal.
        #expect(compiled > 100 && rejected > 1000)
    }

    @Test func tokenSoupExpressionsNeverCrash() {
        var rng = SplitMix64(seed: 7)
        let limits = ConditionLimits(maxDepth: 32, maxRegexLength: 512)
        var parsed = 0
        for _ in 0..<2_000 {
            let expr: String
            if rng.next() % 3 == 0 {
                // Well-formed comparisons joined by and/or: these mostly compile and run.
                let paths = ["metadata.plan", "metadata.seats", "body.messages.length", "headers[\"x-tier\"]", "body.user", "model"]
                let ops = ["==", "!=", "<", ">=", "contains", "startsWith"]
                let literals = ["\"paid\"", "12", "\"go\"", "2"]
                let n = Int(rng.next() % 4) + 1
                expr = (0..<n).map { _ in
                    "\(paths[Int(rng.next() % 6)]) \(ops[Int(rng.next() % 6)]) \(literals[Int(rng.next() % 4)])"
                }.joined(separator: rng.next() % 2 == 0 ? " and " : " or ")
            } else {
                let n = Int(rng.next() % 12) + 1
                expr = (0..<n).map { _ in Self.exprTokens[Int(rng.next() % UInt64(Self.exprTokens.count))] }.joined(separator: rng.next() % 2 == 0 ? " " : "")
            }
            let (condition, issues) = ConditionParser.compile(expr, limits: limits)
            if let condition {
                parsed += 1
                _ = condition.evaluate(ConditionTests.facts)
            } else {
                #expect(issues.contains { $0.severity == .error })
                for issue in issues { #expect(issue.offset >= 0 && issue.offset <= expr.unicodeScalars.count) }
            }
            // The same soup inside a route file, quoted.
            let escaped = expr.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            Self.check(compile("nodes:\n  c:\n    if: \"\(escaped)\"\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n"))
        }
        #expect(parsed > 100)
    }

    @Test func randomBytesNeverCrash() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<500 {
            let n = Int(rng.next() % 200)
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let text = String(decoding: bytes, as: UTF8.self)
            Self.check(compile(text))
        }
    }
}
