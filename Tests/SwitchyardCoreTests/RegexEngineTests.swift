import Foundation
import Testing
@testable import SwitchyardCore

/// The linear-time engine behind `matches` and `$regex`: its answers equal ICU's
/// (`NSRegularExpression`) on the supported syntax, its work is counted in steps and bounded,
/// and what it does not support is a compile error.
@Suite struct RegexEngineTests {
    // MARK: Reference

    /// ICU's answer on the whole string, or on the prefix of `prefixUTF16` units with the rest
    /// of the string still visible to `$` and `\b` (transparent, non-anchoring bounds).
    static func icuMatches(_ pattern: String, _ input: String, prefixUTF16: Int? = nil) throws -> Bool {
        let regex = try NSRegularExpression(pattern: pattern)
        let ns = input as NSString
        guard let prefix = prefixUTF16 else {
            return regex.firstMatch(in: input, options: [], range: NSRange(location: 0, length: ns.length)) != nil
        }
        return regex.firstMatch(in: input, options: [.withTransparentBounds, .withoutAnchoringBounds], range: NSRange(location: 0, length: prefix)) != nil
    }

    static func ours(_ pattern: String, _ input: String, maxInputBytes: Int = CompiledRegex.maxInputBytes) throws -> Bool {
        try CompiledRegex(pattern: pattern).matchSteps(input, maxInputBytes: maxInputBytes).matched
    }

    static func describe(_ s: String) -> String {
        s.unicodeScalars.map { $0.value < 0x20 || $0.value > 0x7E ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined()
    }

    // MARK: Hand-written agreement with ICU

    /// (pattern, input, expected); each expectation is also checked against ICU itself.
    static let cases: [(String, String, Bool)] = [
        ("gold", "silver gold", true), ("^gold", "silver gold", false), ("gold$", "gold\n", true),
        ("gold$", "gold\r\n", true), ("gold$", "gold\n\n", false), ("gold\\r$", "gold\r\n", false),
        ("gold$", "gold\u{2028}", true), ("gold$", "gold\u{85}", true), ("^$", "", true), ("^$", "\n", true),
        ("a.c", "a\nc", false), ("a.c", "a\u{2028}c", false), ("a.c", "a\u{0B}c", false), ("a.c", "a😀c", true),
        ("\\d", "٣", true), ("\\d", "²", false), ("\\w", "é", true), ("\\w", "\u{0301}", true), ("\\w", "-", false),
        ("\\s", "\u{A0}", true), ("\\s", "\u{0B}", true), ("\\s", "\u{200B}", false), ("\\S", " ", false),
        ("\\bcat\\b", "a cat!", true), ("\\bcat\\b", "concat", false), ("\\Bcat", "concat", true),
        ("e\\b", "cafe\u{0301}", false), ("\\bx", "\u{0301}x", true), ("x\\b", "x\u{200B}y", false),
        ("(?i)kelvin", "\u{212A}ELVIN", true), ("(?i)[a-z]+$", "ſ", true), ("(?i)σ", "ς", true), ("(?i)σ", "Σ", true),
        ("(?i)[^k]", "\u{212A}", false), ("(?i)É", "é", true), ("(?i)i", "ı", false), ("(?i)i", "İ", false),
        ("[^a-c]", "b", false), ("[a-]", "-", true), ("[-a]", "-", true), ("[\\]x]", "]", true), ("[.$|()*+?{}]", "{", true),
        ("[é-ë]", "ê", true), ("[\\u00e9]", "é", true), ("\\x{1F600}", "😀", true), ("\\u00e9", "é", true),
        ("a{2,3}", "a", false), ("a{2,3}", "aa", true), ("^a{2,3}$", "aaaa", false), ("^a{0}$", "", true),
        ("^(ab|cd)+?$", "abcdab", true), ("^(?:ab|cd)*$", "abca", false), ("a|", "zzz", true), ("()", "", true),
        ("x]", "x]", true), ("a/b", "a/b", true), ("a\\/b", "a/b", true), ("\\.\\\\", ".\\", true),
    ]

    @Test func handWrittenCasesAgreeWithICU() throws {
        for (pattern, input, expected) in Self.cases {
            let icu = try Self.icuMatches(pattern, input)
            #expect(icu == expected, "ICU: \(pattern) on \(Self.describe(input))")
            #expect(try Self.ours(pattern, input) == expected, "\(pattern) on \(Self.describe(input))")
        }
    }

    // MARK: Differential fuzz

    /// Random patterns from the supported syntax.
    struct PatternGenerator {
        var rng: SplitMix64
        mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        mutating func pick(_ xs: [String]) -> String { xs[int(xs.count)] }

        static let literals = [
            "a", "b", "c", "a", "b", "A", "B", "k", "s", "S", "0", "1", " ", "-", "_", ",", "/", "é", "É", "σ", "Σ",
            "ς", "\u{212A}", "ſ", "😀", "٣", "\u{0301}", "\\.", "\\-", "\\$", "\\(", "\\*", "\\\\", "\\/", "\\n",
            "\\t", "\\r", "\\u00e9", "\\x41", "\\x{3c3}", "]", "\\}", "\\{",
        ]
        static let classItems = [
            "a", "b", "c-e", "A-C", "0-9", "k", "s", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "é", "σ", "\\-",
            "\\]", "\\n", " ", "_", "\\u00c9", ".", "$", "|", "\u{212A}", "(", "*", "ſ", "α-ω", "\\\\", "^",
        ]

        mutating func pattern() -> String {
            var p = int(4) == 0 ? "(?i)" : ""
            p += alternation(depth: 0)
            return p
        }

        mutating func alternation(depth: Int) -> String {
            let n = depth < 3 && int(5) == 0 ? 2 + int(2) : 1
            return (0..<n).map { _ in concat(depth: depth) }.joined(separator: "|")
        }

        mutating func concat(depth: Int) -> String {
            (0..<(1 + int(4))).map { _ in quantified(depth: depth) }.joined()
        }

        mutating func quantified(depth: Int) -> String {
            let (atom, isAssertion) = self.atom(depth: depth)
            if isAssertion { return atom }
            var q: String
            switch int(12) {
            case 0: q = "*"
            case 1: q = "+"
            case 2: q = "?"
            case 3: q = "{\(int(3))}"
            case 4: q = "{\(int(3)),}"
            case 5:
                let low = int(3)
                q = "{\(low),\(low + int(3))}"
            default: q = ""
            }
            // ICU spins on a lazy repetition of a group that can match empty (`.(?:b*)*?c|^` on
            // "K" takes half a second, then its backtracking stack overflows and it answers "no
            // match"), so laziness, which changes no yes/no answer, goes on single atoms only.
            // (Scalars, not Characters: "(" followed by U+0301 is one Character.)
            if !q.isEmpty && atom.unicodeScalars.first != "(" && int(4) == 0 { q += "?" }
            return atom + q
        }

        mutating func atom(depth: Int) -> (String, Bool) {
            switch int(22) {
            case 0..<9: return (pick(Self.literals), false)
            case 9, 10: return (".", false)
            case 11, 12:
                let items = (0..<(1 + int(3))).map { _ in pick(Self.classItems) }.joined()
                let body = items.unicodeScalars.first == "^" ? "\\" + items : items
                return ("[" + (int(3) == 0 ? "^" : "") + body + "]", false)
            case 13: return (pick(["\\d", "\\w", "\\s", "\\D", "\\W", "\\S"]), false)
            case 14: return (pick(["^", "$"]), true)
            case 15: return (pick(["\\b", "\\B"]), true)
            case 16..<20 where depth < 3:
                return ((int(2) == 0 ? "(" : "(?:") + alternation(depth: depth + 1) + ")", false)
            default: return (pick(Self.literals), false)
            }
        }
    }

    static let inputAlphabet: [String] = [
        "a", "b", "c", "a", "b", "A", "B", "k", "K", "\u{212A}", "s", "S", "ſ", "0", "1", "٣", " ", " ", "\n", "\r", "\t",
        "-", ".", "_", ",", "/", "\\", "é", "É", "σ", "ς", "Σ", "α", "µ", "\u{2028}", "\u{85}", "\u{0301}", "\u{200B}",
        "😀", "\u{0B}", "\u{A0}", "$", "(", "*", "]", "}", "|",
    ]

    static func randomInput(_ rng: inout SplitMix64, maxLength: Int) -> String {
        let n = Int(rng.next() % UInt64(maxLength + 1))
        return (0..<n).map { _ in inputAlphabet[Int(rng.next() % UInt64(inputAlphabet.count))] }.joined()
    }

    /// 3,000 random patterns × 8 random inputs. `REGEX_FUZZ_SEED=n REGEX_FUZZ_PATTERNS=20000`
    /// explores further (the count expectations then fail; the mismatch ones are what matter).
    @Test func differentialFuzzAgainstNSRegularExpression() throws {
        let environment = ProcessInfo.processInfo.environment
        var gen = PatternGenerator(rng: SplitMix64(seed: environment["REGEX_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_2026))
        var inputs = SplitMix64(seed: 42)
        var compared = 0, matched = 0, mismatches = 0, ambiguous = 0
        for _ in 0..<(environment["REGEX_FUZZ_PATTERNS"].flatMap { Int($0) } ?? 3_000) {
            let pattern = gen.pattern()
            let regex: CompiledRegex
            do {
                regex = try CompiledRegex(pattern: pattern)
            } catch {
                Issue.record("rejected a supported pattern \(Self.describe(pattern)): \(error)")
                continue
            }
            let icu = try NSRegularExpression(pattern: pattern)
            if RegexRisk.check(try RegexSyntax.parse(pattern)) != nil { ambiguous += 1 }
            for k in 0..<8 {
                let input = Self.randomInput(&inputs, maxLength: k < 4 ? 6 : 16)
                let expected = icu.firstMatch(in: input, options: [], range: NSRange(location: 0, length: (input as NSString).length)) != nil
                let actual = regex.matches(input)
                compared += 1
                if expected { matched += 1 }
                if actual != expected {
                    mismatches += 1
                    if mismatches <= 20 {
                        Issue.record("\(Self.describe(pattern)) on \(Self.describe(input)): ICU \(expected), ours \(actual)")
                    }
                }
            }
        }
        #expect(mismatches == 0)
        #expect(compared == 24_000)
        // The shapes routes reject are compared too (the engine accepts them).
        #expect(ambiguous > 300)
        // Neither answer dominates, so the comparison says something.
        #expect(matched > 3_000 && matched < 21_000, "matched \(matched) of \(compared)")
    }

    /// Beyond the cap: a match must lie within the examined prefix, while `$` and `\b` see the
    /// whole value, which is ICU's answer for the prefix as a region with transparent,
    /// non-anchoring bounds.
    @Test func differentialFuzzAtTheInputCap() throws {
        var gen = PatternGenerator(rng: SplitMix64(seed: 7_2026))
        var inputs = SplitMix64(seed: 99)
        var mismatches = 0, truncated = 0
        for _ in 0..<1_000 {
            let pattern = gen.pattern()
            let regex = try CompiledRegex(pattern: pattern)
            let icu = try NSRegularExpression(pattern: pattern)
            for _ in 0..<4 {
                let input = Self.randomInput(&inputs, maxLength: 14)
                let cap = 1 + Int(inputs.next() % 12)
                var bytes = 0, prefix = 0
                for c in input.unicodeScalars {
                    bytes += c.utf8.count
                    if bytes > cap { break }
                    prefix += c.utf16.count
                }
                if prefix < (input as NSString).length { truncated += 1 }
                let expected = icu.firstMatch(in: input, options: [.withTransparentBounds, .withoutAnchoringBounds], range: NSRange(location: 0, length: prefix)) != nil
                let actual = regex.matchSteps(input, maxInputBytes: cap).matched
                if actual != expected {
                    mismatches += 1
                    if mismatches <= 20 {
                        Issue.record("\(Self.describe(pattern)) on \(Self.describe(input)) capped at \(cap) bytes: ICU \(expected), ours \(actual)")
                    }
                }
            }
        }
        #expect(mismatches == 0)
        #expect(truncated > 1_000)
    }

    // MARK: Linear time, counted in steps

    /// The bound `RegexProgram.run` documents: each position visits each instruction at most
    /// once while following jumps and once while consuming.
    static func linearBound(_ regex: CompiledRegex, scalars: Int) -> Int {
        2 * regex.programSize * (scalars + 1)
    }

    @Test func theIssueReprosTakeLinearSteps() throws {
        // `.*gold.*tier` took 4 s on 1,600 characters under ICU.
        let gold = try CompiledRegex(pattern: ".*gold.*tier")
        let text = String(repeating: "gold ", count: 400)  // 2,000 characters, no "tier"
        let goldRun = gold.matchSteps(text)
        #expect(!goldRun.matched)
        #expect(goldRun.steps <= Self.linearBound(gold, scalars: 2_000))
        #expect(goldRun.steps <= 20 * 2_000, "\(goldRun.steps) steps")
        #expect(gold.matches(text + "tier"))

        // `a*a*a*a*a*b` ran for more than 120 s on 200 characters; the route compiler rejects
        // it, but the engine itself stays linear on it, as on the other classic shapes.
        let a10k = String(repeating: "a", count: 10_000)
        for pattern in ["a*a*a*a*a*b", "(a|aa)*b", "(a+)+b", "(a*)*b", "^(\\w+\\s?)*$", "(.*){1,32}x"] {
            let regex = try CompiledRegex(pattern: pattern)
            let input = pattern.hasSuffix("$") ? a10k + "!" : a10k
            let outcome = regex.matchSteps(input)
            #expect(!outcome.matched && !outcome.exhausted, "\(pattern)")
            #expect(outcome.steps <= Self.linearBound(regex, scalars: input.unicodeScalars.count), "\(pattern): \(outcome.steps) steps")
            #expect(outcome.steps <= 40 * 10_001 || pattern.hasPrefix("(.*)"), "\(pattern): \(outcome.steps) steps")
        }
        let short = try CompiledRegex(pattern: "a*a*a*a*a*b").matchSteps(String(repeating: "a", count: 200))
        #expect(short.steps <= 40 * 201)
    }

    @Test func stepsGrowLinearlyWithTheInput() throws {
        for pattern in [".*gold.*tier", "(a|aa)*b", "a*a*a*a*a*b", "\\bx{1,20}$", "(?i)[a-zé]+\\d"] {
            let regex = try CompiledRegex(pattern: pattern)
            let small = regex.matchSteps(String(repeating: "ax", count: 1_000)).steps
            let large = regex.matchSteps(String(repeating: "ax", count: 4_000)).steps
            // Four times the input, at most four times the steps (plus the constant start).
            #expect(large <= 4 * small + 2 * regex.programSize, "\(pattern): \(small) then \(large)")
            #expect(large >= 3 * small, "\(pattern): \(small) then \(large)")
        }
    }

    // MARK: Input cap and step budget

    @Test func onlyTheFirst16KiBAreExamined() throws {
        let cap = CompiledRegex.maxInputBytes
        #expect(cap == 16_384)
        let filler = String(repeating: "a", count: cap)
        #expect(try CompiledRegex(pattern: "gold").matches(filler.dropLast(4) + "gold"))
        #expect(try !CompiledRegex(pattern: "gold").matches(filler + "gold"))
        // `$` sees the real end: a longer value never matches a pattern anchored at its end.
        #expect(try CompiledRegex(pattern: "^a+$").matches(filler))
        #expect(try !CompiledRegex(pattern: "^a+$").matches(filler + "a"))
        #expect(try CompiledRegex(pattern: "^a+").matches(filler + "!"))
        // The cut falls between scalars: a 2-byte scalar that would end past the cap is not examined.
        #expect(try CompiledRegex(pattern: "é").matches(String(filler.dropLast(2)) + "é"))
        #expect(try !CompiledRegex(pattern: "é").matches(String(filler.dropLast(1)) + "é"))
        // A megabyte costs what 16 KiB cost.
        let regex = try CompiledRegex(pattern: "(a|aa)*b")
        let huge = regex.matchSteps(String(repeating: "a", count: 1 << 20))
        #expect(!huge.matched)
        #expect(huge.steps <= Self.linearBound(regex, scalars: cap))
    }

    @Test func theStepBudgetStopsAnEvaluation() throws {
        let regex = try CompiledRegex(pattern: "[a-z]{1,100}[0-9]")
        let input = String(repeating: "a", count: 5_000)
        let full = regex.matchSteps(input)
        #expect(!full.exhausted && full.steps > 100_000)
        let cut = regex.matchSteps(input + "1", stepBudget: 10_000)
        #expect(cut.exhausted && !cut.matched)
        #expect(cut.steps <= 10_000 + 2 * regex.programSize)
        #expect(regex.matchSteps(input + "1").matched)
        // Programs small enough never reach the budget on the largest input; larger ones are flagged.
        #expect(try !CompiledRegex(pattern: "[a-z]{1,200}").mayExhaustBudget)
        #expect(try CompiledRegex(pattern: "[a-z]{1,300}").mayExhaustBudget)
    }

    @Test func repetitionCountsAndProgramSizeAreBounded() {
        func message(_ pattern: String) -> String? {
            do {
                _ = try CompiledRegex(pattern: pattern)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(message("a{1000}") == nil)
        #expect(message("a{1001}")?.contains("limited to 1000") == true)
        #expect(message("a{2,1001}")?.contains("limited to 1000") == true)
        #expect(message("a{3,2}")?.contains("out of order") == true)
        #expect(message("(?:a{1000}){5}")?.contains("too large") == true)
        #expect(message("((a{1000}){1000}){1000}")?.contains("too large") == true)
        #expect(RegexProgram.maxInstructions == 4_000)
    }

    // MARK: Unsupported syntax is a compile error

    /// (pattern, offset of the problem, words the message contains)
    static let unsupported: [(String, Int, String)] = [
        ("(a)\\1", 3, "backreferences"), ("(?<n>a)\\k<n>", 0, "named groups"), ("x(?=y)", 1, "lookahead"),
        ("x(?!y)", 1, "lookahead"), ("(?<=y)x", 0, "lookbehind"), ("(?<!y)x", 0, "lookbehind"), ("(?>ab)", 0, "atomic"),
        ("a*+", 2, "possessive"), ("a++b", 2, "possessive"), ("\\p{L}", 0, "property"), ("[[:alpha:]]", 1, "POSIX"),
        ("[a&&b]", 2, "intersection"), ("(?s).", 0, "inline options"), ("a(?i)b", 1, "only supported at the very start"),
        ("\\Qa\\E", 0, "\\Q"), ("a**", 2, "cannot follow"), ("*a", 0, "nothing to repeat"), ("^*", 1, "nothing to repeat"),
        ("(ab", 0, "missing ')'"), ("ab)", 2, "unmatched ')'"), ("[ab", 0, "missing ']'"), ("[]a]", 1, "start with ']'"),
        ("a{,2}", 1, "repetition count"), ("a}", 1, "unmatched '}'"), ("ab\\", 2, "lone backslash"), ("\\z", 0, "unsupported escape"),
        ("\\u12", 0, "four hex digits"), ("\\x{D800}", 0, "not a character"), ("[z-a]", 1, "out of order"), ("[a-z-0]", 4, "first or last"),
        ("\\0", 0, "octal"), ("(?#note)", 0, "comments"), ("[\\d-z]", 1, "cannot start a range"),
    ]

    @Test(arguments: unsupported)
    func unsupportedSyntaxIsACompileError(_ pattern: String, _ offset: Int, _ words: String) {
        do {
            _ = try CompiledRegex(pattern: pattern)
            Issue.record("\(pattern) compiled")
        } catch {
            #expect(error.offset == offset, "\(pattern): \(error)")
            #expect(error.message.contains(words), "\(pattern): \(error)")
        }
    }

    @Test func unsupportedSyntaxInARouteIsALocatedError() {
        // `    if: ` is 8 characters; the string starts at offset 18 of the expression.
        let result = compile("nodes:\n  c:\n    if: body.user matches \"(a)\\\\1\"\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        #expect(result.graph == nil)
        #expect(diagnosticsText(result) == "test.yaml:3:31: error: invalid regular expression \"(a)\\\\1\": backreferences ('\\1') are not supported; match the repeated text explicitly")
    }

    // MARK: Ambiguous shapes are rejected where they are

    /// (expression as written in the YAML line, column of the quantifier to blame, words of the
    /// message). The expression starts at column 9 and its string's quote at column 27; `\\\\`
    /// is one character of the pattern but two columns of the file.
    static let ambiguousRoutes: [(String, Int, String)] = [
        (#"body.user matches "a*a*a*a*a*b""#, 31, "'a*' and 'a*'"),
        (#"body.user matches "\\w+\\d+""#, 35, "'\\w+' and '\\d+'"),
        (#"body.user matches ".*.*x""#, 31, "'.*' and '.*'"),
        (#"body.user matches "\\d+\\.?\\d*""#, 39, "'\\d+' and '\\d*'"),
        (#"body.user matches "(a|ab)*""#, 34, "the branches 'a' and 'ab' of '(a|ab)*'"),
        (#"body.user matches "^(a+)+$""#, 33, "repeats a repeated group ((a+)+)"),
        (#"body.user matches "(\\w+\\s?)*""#, 38, "repeats a repeated group"),
        (#"body.user matches "x(?:y|a*)a+""#, 38, "'a*' and 'a+'"),
        ("body.user matches \"(?i)K*k+\"", 35, "'K*' and 'k+'"),
    ]

    @Test(arguments: ambiguousRoutes)
    func ambiguousRegexesAreRejectedAtTheirQuantifier(_ expression: String, _ column: Int, _ words: String) throws {
        let result = compile("nodes:\n  c:\n    if: \(expression)\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        #expect(result.graph == nil)
        let d = try #require(result.diagnostics.first, "\(expression)")
        #expect(result.diagnostics.count == 1)
        #expect(d.severity == .error)
        #expect("\(d.location.line):\(d.location.column)" == "3:\(column)", "\(expression): \(d)")
        #expect(d.message.contains(words), "\(d)")
        #expect(d.description.contains("; "), "a suggestion: \(d)")
    }

    @Test func mongoRegexDiagnosticsPointIntoThePattern() throws {
        // The JSON string's quote is at column 39; its second `*` is its fourth character.
        let result = compile(#"nodes:\#n  c:\#n    if: {"headers.x-tier": {"$regex": "a*a*b"}}\#n    then: openai/gpt-5.2\#n    else: openai/gpt-5-mini\#n"#)
        let d = try #require(result.diagnostics.first)
        #expect("\(d.location.line):\(d.location.column)" == "3:43", "\(d)")
        #expect(d.message.contains("'a*' and 'a*'"))
        // Escapes in a double-quoted string are stepped over: `\\d` is two characters in the file.
        let escaped = compile(#"nodes:\#n  c:\#n    if: {"headers.x-tier": {"$regex": "\\d+\\d+"}}\#n    then: openai/gpt-5.2\#n    else: openai/gpt-5-mini\#n"#)
        let e = try #require(escaped.diagnostics.first)
        #expect("\(e.location.line):\(e.location.column)" == "3:47", "\(e)")
    }

    /// Patterns routes commonly hold compile cleanly.
    static let accepted = [
        ".*gold.*tier", "^gpt-(4|5)(\\.[0-9]+)?$", "\\d+(\\.\\d+)?", "^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$",
        "(foo|bar)+", "(?i)refund|cancel", "\\s*,\\s*", "^(openai|anthropic)/", "[A-Z]{2}-\\d{4,6}", "(ab)+(ba)+",
        "^\\+?[0-9 ()-]{7,20}$", "(\\w|-)+", "(.|\\n)*end", "\\d+(\\.\\d*)?", "(ab?)*",
    ]

    @Test(arguments: accepted)
    func commonPatternsCompile(_ pattern: String) {
        let escaped = pattern.replacingOccurrences(of: "\\", with: "\\\\")
        let (condition, issues) = ConditionParser.compile("body.user matches \"\(escaped)\"", limits: ConditionTests.limits)
        #expect(condition != nil, "\(pattern): \(issues.map(\.message))")
        #expect(issues.isEmpty, "\(pattern): \(issues.map(\.message))")
    }

    @Test func largeProgramsCompileWithAWarning() throws {
        let result = compile("nodes:\n  c:\n    if: body.user matches \"[a-z]{1,900}\"\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        #expect(result.graph != nil)
        let d = try #require(result.diagnostics.first)
        #expect(d.severity == .warning)
        #expect(d.message.contains("states; on values longer than about"), "\(d)")
    }

    // MARK: Case folding

    @Test func simpleCaseFolding() {
        let folds: [(Unicode.Scalar, Unicode.Scalar)] = [
            ("A", "a"), ("\u{212A}", "k"), ("ſ", "s"), ("ς", "σ"), ("Σ", "σ"), ("ẞ", "ß"), ("ß", "ß"), ("İ", "İ"), ("ı", "ı"),
            ("µ", "μ"), ("ǅ", "ǆ"), ("\u{13A0}", "\u{13A0}"), ("\u{AB70}", "\u{13A0}"), ("\u{1C90}", "\u{10D0}"), ("é", "é"),
        ]
        for (c, folded) in folds {
            #expect(RegexUnicode.simpleFold(c) == folded, "\(c)")
        }
        #expect(Set(RegexUnicode.caseEquivalents("k")) == ["k", "K", "\u{212A}"])
        #expect(Set(RegexUnicode.caseEquivalents("σ")) == ["σ", "Σ", "ς"])
        #expect(Set(RegexUnicode.caseEquivalents("1")) == ["1"])
    }
}
