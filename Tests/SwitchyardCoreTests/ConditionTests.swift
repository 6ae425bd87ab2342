import Foundation
import Testing
@testable import SwitchyardCore

@Suite struct ConditionTests {
    static let limits = ConditionLimits(maxDepth: 32, maxRegexLength: 512)

    static let facts = RequestFacts(
        metadata: ["plan": .string("paid"), "seats": .number(12), "beta": .bool(true), "tags": .array([.string("vip"), .string("eu")]), "nothing": .null],
        headers: ["X-Tier": "gold", "x.dotted": "yes"],
        body: .object([
            "max_tokens": .number(500),
            "messages": .array([
                .object(["role": .string("system"), "content": .string("You are helpful.")]),
                .object(["role": .string("user"), "content": .string("Refund my order 123")]),
            ]),
            "user": .string("u-42"),
        ]),
        model: "dynamic/customer-support", gateway: "prod")

    static func eval(_ text: String) throws -> Bool {
        let (c, issues) = ConditionParser.compile(text, limits: limits)
        let condition = try #require(c, "\(text): \(issues.map(\.message))")
        return condition.evaluate(facts)
    }

    /// (expression, expected result)
    static let cases: [(String, Bool)] = [
        ("metadata.plan == \"paid\"", true), ("metadata.plan == 'free'", false),
        ("metadata.plan != \"free\"", true), ("metadata.plan != \"paid\"", false),
        ("metadata.seats > 10", true), ("metadata.seats > 12", false),
        ("metadata.seats >= 12", true), ("metadata.seats >= 13", false),
        ("metadata.seats < 13", true), ("metadata.seats < 12", false),
        ("metadata.seats <= 12", true), ("metadata.seats <= 11.5", false),
        ("metadata.plan in [\"paid\", \"team\"]", true), ("metadata.plan in [\"free\"]", false),
        ("metadata.plan not in [\"free\"]", true), ("metadata.plan not in [\"paid\"]", false),
        ("metadata.tags contains \"vip\"", true), ("metadata.tags contains \"us\"", false),
        ("body.messages[1].content contains \"Refund\"", true), ("body.messages[1].content contains \"refund\"", false),
        ("headers[\"x-tier\"] startsWith \"go\"", true), ("headers.x-tier startsWith \"sil\"", false),
        ("body.messages[-1].content matches \"order [0-9]+$\"", true), ("model matches \"^openai/\"", false),
        ("exists(metadata.plan)", true), ("exists(metadata.missing)", false), ("exists(metadata.nothing)", false),
        ("metadata.plan == \"paid\" and metadata.seats > 10", true), ("metadata.plan == \"paid\" && metadata.seats > 100", false),
        ("metadata.plan == \"free\" or metadata.beta == true", true), ("metadata.plan == \"free\" || metadata.beta == false", false),
        ("not metadata.plan == \"free\"", true), ("!(metadata.plan == \"paid\")", false),
        ("(metadata.plan == \"free\" or metadata.seats > 10) and not exists(metadata.missing)", true),
        ("body.messages.length == 2", true), ("body.messages.length > 2", false),
        ("body.max_tokens <= 500", true), ("body.messages[0].role == \"system\"", true),
        ("model == \"dynamic/customer-support\"", true), ("gateway == \"prod\"", true), ("gateway == \"default\"", false),
        ("headers[\"x.dotted\"] == \"yes\"", true),
        // Type mismatches are false, never errors at run time.
        ("metadata.plan > 3", false), ("metadata.seats == \"12\"", false), ("metadata.beta startsWith \"t\"", false),
        ("metadata.missing == \"x\"", false), ("metadata.missing != \"x\"", true), ("metadata.missing == null", false),
        ("metadata.seats matches \"1\"", false), ("metadata.tags in [\"vip\"]", false),
        // `or` binds looser than `and`; `not` tighter than both.
        ("metadata.plan == \"free\" and metadata.seats > 100 or metadata.beta == true", true),
        ("metadata.plan == \"free\" and (metadata.seats > 100 or metadata.beta == true)", false),
        ("not metadata.plan == \"free\" and metadata.plan == \"free\"", false),
        ("true", true), ("false", false),
    ]

    @Test(arguments: cases)
    func evaluates(_ expression: String, _ expected: Bool) throws {
        #expect(try Self.eval(expression) == expected, "\(expression)")
    }

    static let mongoCases: [(String, Bool)] = [
        (#"{"metadata.plan": "paid"}"#, true), (#"{"metadata.plan": "free"}"#, false),
        (#"{"metadata.plan": {"$eq": "paid"}}"#, true), (#"{"metadata.plan": {"$eq": "free"}}"#, false),
        (#"{"metadata.plan": {"$ne": "free"}}"#, true), (#"{"metadata.plan": {"$ne": "paid"}}"#, false),
        (#"{"metadata.seats": {"$gt": 11}}"#, true), (#"{"metadata.seats": {"$gt": 12}}"#, false),
        (#"{"metadata.seats": {"$gte": 12}}"#, true), (#"{"metadata.seats": {"$gte": 13}}"#, false),
        (#"{"metadata.seats": {"$lt": 13}}"#, true), (#"{"metadata.seats": {"$lt": 12}}"#, false),
        (#"{"metadata.seats": {"$lte": 12}}"#, true), (#"{"metadata.seats": {"$lte": 11}}"#, false),
        (#"{"metadata.plan": {"$in": ["paid", "team"]}}"#, true), (#"{"metadata.plan": {"$in": ["free"]}}"#, false),
        (#"{"metadata.plan": {"$nin": ["free"]}}"#, true), (#"{"metadata.plan": {"$nin": ["paid"]}}"#, false),
        (#"{"$and": [{"metadata.plan": "paid"}, {"metadata.seats": {"$gt": 10}}]}"#, true),
        (#"{"$and": [{"metadata.plan": "paid"}, {"metadata.seats": {"$gt": 100}}]}"#, false),
        (#"{"$or": [{"metadata.plan": "free"}, {"metadata.beta": true}]}"#, true),
        (#"{"$or": [{"metadata.plan": "free"}, {"metadata.beta": false}]}"#, false),
        (#"{"metadata.plan": "paid", "metadata.seats": {"$gt": 20}}"#, false),
        (#"{"metadata.missing": {"$exists": false}}"#, true), (#"{"metadata.plan": {"$exists": false}}"#, false),
        (#"{"headers.x-tier": {"$regex": "^go"}}"#, true), (#"{"headers.x-tier": {"$regex": "^si"}}"#, false),
        (#"{"metadata.seats": {"$gt": 10, "$lt": 20}}"#, true), (#"{"metadata.seats": {"$gt": 10, "$lt": 12}}"#, false),
        (#"{"metadata.plan": {"$gt": 3}}"#, false),
    ]

    @Test(arguments: mongoCases)
    func mongoEvaluates(_ json: String, _ expected: Bool) throws {
        let yaml = "nodes:\n  c:\n    if: \(json)\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n"
        let result = compile(yaml)
        let graph = try #require(result.graph, "\(diagnosticsText(result))")
        guard case .conditional(let c) = graph.nodes[graph.start].kind else { Issue.record("not a conditional"); return }
        #expect(c.condition.evaluate(Self.facts) == expected, "\(json)")
    }

    @Test func mongoAndExpressionCompileToTheSameCondition() throws {
        let a = compile("nodes:\n  c:\n    if: {\"metadata.plan\": {\"$eq\": \"paid\"}}\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        let b = compile("nodes:\n  c:\n    if: metadata.plan == \"paid\"\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        let ga = try #require(a.graph), gb = try #require(b.graph)
        guard case .conditional(let ca) = ga.nodes[0].kind, case .conditional(let cb) = gb.nodes[0].kind else { Issue.record("kinds"); return }
        #expect(ca.condition.expressionText == cb.condition.expressionText)
    }

    @Test func syntaxErrorsPointAtTheToken() {
        let (c, issues) = ConditionParser.compile("metadata.plan == \"paid\" and and", limits: Self.limits)
        #expect(c == nil)
        #expect(issues.first?.offset == 28)
        #expect(issues.first?.message == "expected a path (metadata.x, headers.x, body.x, model, gateway) or a value, found 'and'")
    }

    @Test func columnsInsideQuotedScalars() {
        let result = compile("nodes:\n  c:\n    if: \"metadata.plan == = 1\"\n    then: openai/gpt-5.2\n    else: openai/gpt-5-mini\n")
        // `    if: "` is 9 characters; the second `=` is offset 17 in the expression.
        #expect(result.diagnostics.first?.location.line == 3)
        #expect(result.diagnostics.first?.location.column == 10 + 17)
    }

    @Test func expressionDepthIsBounded() {
        let deep = String(repeating: "(", count: 200) + "model == \"x\"" + String(repeating: ")", count: 200)
        let (c, issues) = ConditionParser.compile(deep, limits: Self.limits)
        #expect(c == nil)
        #expect(issues.first?.message.contains("nests more than 32 levels") == true)
        let nots = String(repeating: "not ", count: 100) + "model == \"x\""
        #expect(ConditionParser.compile(nots, limits: Self.limits).0 == nil)
    }

    static func risk(_ pattern: String) throws -> RegexRisk.Finding? {
        RegexRisk.check(try RegexSyntax.parse(pattern))
    }

    @Test func regexRiskDetection() throws {
        #expect(try Self.risk("(a+)+")?.message.contains("repeats a repeated group ((a+)+)") == true)
        #expect(try Self.risk("(a*)*b") != nil)
        #expect(try Self.risk("((ab)+c)*") != nil)
        #expect(try Self.risk("(\\w+\\s?){2,}") != nil)
        #expect(try Self.risk("^gpt-(4|5)(\\.[0-9]+)?$") == nil)
        #expect(try Self.risk("[(a+)+]") == nil)
        #expect(try Self.risk("(ab)+c+") == nil)
        // Overlapping neighbours and overlapping branches, beyond nesting.
        #expect(try Self.risk("a*a*b")?.offset == 3)
        #expect(try Self.risk("\\w+\\d+")?.offset == 5)
        #expect(try Self.risk("x.*y?.*z")?.offset == 6)
        #expect(try Self.risk("(a|ab)*")?.offset == 6)
        #expect(try Self.risk(".*gold.*tier") == nil)
        #expect(try Self.risk("[a-z]+[0-9]+") == nil)
        #expect(try Self.risk("(ab|cd)*") == nil)
        let long = "model matches \"" + String(repeating: "a", count: 600) + "\""
        #expect(ConditionParser.compile(long, limits: Self.limits).0 == nil)
    }

    @Test func pathsAreReportedForExplain() throws {
        let (c, _) = ConditionParser.compile("metadata.plan == \"paid\" and body.messages.length > 2 or exists(headers.x-tier)", limits: Self.limits)
        let paths = try #require(c).paths.map(\.description)
        #expect(paths == ["metadata.plan", "body.messages.length", "headers.x-tier"])
    }
}
