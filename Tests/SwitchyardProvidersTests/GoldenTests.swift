import Foundation
import SwitchyardCore
import Testing

@testable import SwitchyardProviders

/// Golden fixtures: `Fixtures/<provider>/<kind>-<name>.input` → `.expected`.
///
/// - `response-*`: a provider response body; expected is the `chat.completion` (compared as parsed JSON).
/// - `error-*`: first line the HTTP status, then the provider error body; expected is the status line
///   then the OpenAI error body (parsed JSON).
/// - `stream-*`: the raw SSE body as the provider sends it; expected is every OpenAI data payload, one a
///   line, compared byte for byte. `include_usage` is on unless the name contains `nousage`.
///
/// `UPDATE_GOLDENS=1 swift test --filter GoldenTests` rewrites the `.expected` files in the source tree.
@Suite struct GoldenTests {
    static let created = 1_700_000_000
    static let model = "test-model"

    static func fixtureNames(_ provider: String) -> [String] {
        let dir = fixturesURL().appendingPathComponent(provider)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return files.filter { $0.hasSuffix(".input") }.map { String($0.dropLast(6)) }.sorted()
    }

    static func fixturesURL() -> URL {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
    }

    static func sourceFixturesURL(filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    static func translate(provider: String, name: String, input: String) throws -> String {
        if name.hasPrefix("stream-") {
            let includeUsage = !name.contains("nousage")
            var decoder = SSEEventDecoder()
            let events = decoder.feed(Array(input.utf8)) + decoder.finish()
            var lines: [String] = []
            switch provider {
            case "anthropic":
                var t = AnthropicStreamTranslator(model: model, includeUsage: includeUsage, created: created, id: nil)
                for e in events { lines += t.translate(event: e.event, data: e.data) }
                lines += t.finish()
            case "gemini":
                var t = GeminiStreamTranslator(model: model, includeUsage: includeUsage, created: created, id: nil)
                for e in events { lines += t.translate(event: e.event, data: e.data) }
                lines += t.finish()
            default:
                var t = WorkersAIStreamTranslator(model: model, includeUsage: includeUsage, created: created, id: "chatcmpl-wai-1")
                for e in events { lines += t.translate(event: e.event, data: e.data) }
                lines += t.finish()
            }
            return lines.joined(separator: "\n") + "\n"
        }
        if name.hasPrefix("error-") {
            let newline = input.firstIndex(of: "\n")!
            let status = Int(input[..<newline])!
            let body = try? JSONValue.parse(String(input[input.index(after: newline)...]))
            let r = switch provider {
            case "anthropic": AnthropicTranslation.error(status: status, body: body)
            case "gemini": GeminiTranslation.error(status: status, body: body)
            default: WorkersAITranslation.error(status: status, body: body)
            }
            return "\(r.status)\n" + TranslationJSON.encode(r.body) + "\n"
        }
        let body = try JSONValue.parse(input)
        let out = switch provider {
        case "anthropic": AnthropicTranslation.response(body, model: model, created: created)
        case "gemini": GeminiTranslation.response(body, model: model, created: created)
        default: WorkersAITranslation.response(body, model: model, created: created, id: "chatcmpl-wai-1")
        }
        return TranslationJSON.encode(out) + "\n"
    }

    static func check(provider: String, minimum: Int) throws {
        let names = fixtureNames(provider)
        #expect(names.count >= minimum, "\(provider) has \(names.count) fixtures")
        let update = ProcessInfo.processInfo.environment["UPDATE_GOLDENS"] == "1"
        for name in names {
            let dir = fixturesURL().appendingPathComponent(provider)
            let input = try String(contentsOf: dir.appendingPathComponent(name + ".input"), encoding: .utf8)
            let actual = try translate(provider: provider, name: name, input: input)
            if update {
                let dest = sourceFixturesURL().appendingPathComponent(provider).appendingPathComponent(name + ".expected")
                try actual.write(to: dest, atomically: true, encoding: .utf8)
                continue
            }
            let expected = try String(contentsOf: dir.appendingPathComponent(name + ".expected"), encoding: .utf8)
            if name.hasPrefix("stream-") {
                #expect(actual == expected, "\(provider)/\(name)")
            } else {
                let a = actual.split(separator: "\n", maxSplits: name.hasPrefix("error-") ? 1 : 0).map(String.init)
                let e = expected.split(separator: "\n", maxSplits: name.hasPrefix("error-") ? 1 : 0).map(String.init)
                #expect(a.count == e.count, "\(provider)/\(name)")
                for (x, y) in zip(a, e) {
                    if let jx = try? JSONValue.parse(x), let jy = try? JSONValue.parse(y) {
                        #expect(jx == jy, "\(provider)/\(name)")
                    } else {
                        #expect(x == y, "\(provider)/\(name)")
                    }
                }
            }
        }
    }

    @Test func anthropicGoldens() throws { try Self.check(provider: "anthropic", minimum: 15) }
    @Test func geminiGoldens() throws { try Self.check(provider: "gemini", minimum: 15) }
    @Test func workersAIGoldens() throws { try Self.check(provider: "workers-ai", minimum: 4) }

    /// Every stream fixture: the data payloads are valid JSON (or `[DONE]`), the last one is `[DONE]` or
    /// an error object, one id per stream, and assembled tool-call arguments parse as JSON objects.
    @Test(arguments: ["anthropic", "gemini", "workers-ai"])
    func streamInvariants(provider: String) throws {
        for name in Self.fixtureNames(provider) where name.hasPrefix("stream-") {
            let dir = Self.fixturesURL().appendingPathComponent(provider)
            let input = try String(contentsOf: dir.appendingPathComponent(name + ".input"), encoding: .utf8)
            let lines = try Self.translate(provider: provider, name: name, input: input).split(separator: "\n").map(String.init)
            let last = try #require(lines.last)
            let lastIsError = (try? JSONValue.parse(last))?["error"] != nil
            #expect(last == "[DONE]" || lastIsError, "\(provider)/\(name) ends with \(last)")
            var ids = Set<String>()
            var finishes = 0
            var args: [Int: String] = [:]
            for line in lines where line != "[DONE]" {
                let chunk = try JSONValue.parse(line)
                if chunk["error"] != nil { continue }
                ids.insert(chunk["id"]?.stringValue ?? "")
                for choice in chunk["choices"]?.arrayValue ?? [] {
                    if choice["finish_reason"] != .null { finishes += 1 }
                    for call in choice["delta"]?["tool_calls"]?.arrayValue ?? [] {
                        let i = Int(call["index"]?.numberValue ?? -1)
                        args[i, default: ""] += call["function"]?["arguments"]?.stringValue ?? ""
                    }
                }
            }
            #expect(ids.count <= 1, "\(provider)/\(name) ids \(ids)")
            if !lastIsError { #expect(finishes >= 1, "\(provider)/\(name) has a finish reason") }
            for (i, a) in args {
                let parsed = try? JSONValue.parse(a)
                #expect(parsed?.objectValue != nil, "\(provider)/\(name) tool call \(i) arguments \(a)")
            }
        }
    }
}
