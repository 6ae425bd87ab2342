/// What the fake needs from any provider's chat request to build its deterministic answer.
struct ChatDigest: Sendable {
    struct Tool: Sendable {
        var name: String
        var parameters: JSONValue?
    }

    enum ToolChoice: Sendable, Equatable {
        case auto
        case none
        case required
        case named(String)
    }

    var model: String
    var stream: Bool
    /// OpenAI `stream_options.include_usage`.
    var includeUsage: Bool = false
    /// Every piece of text the request carries; prompt usage is derived from its length.
    var promptText: String
    /// Text of the last user turn (or the last tool result).
    var lastUserText: String
    var lastIsToolResult: Bool
    var tools: [Tool]
    var toolChoice: ToolChoice
}

/// The deterministic answer to a chat request, independent of the wire format.
struct ChatAnswer: Sendable {
    enum Content: Sendable {
        case text(String)
        case toolCall(name: String, arguments: JSONText)
    }

    var content: Content
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int { promptTokens + completionTokens }

    static let callToolMarker = "[call-tool]"

    init(digest: ChatDigest, behavior: FakeBehavior, simulated: Bool, maxEchoCharacters: Int) {
        promptTokens = Self.tokens(forCharacters: digest.promptText.count)
        if let tool = Self.toolToCall(digest: digest, behavior: behavior) {
            let arguments = Self.arguments(for: tool.parameters)
            content = .toolCall(name: tool.name, arguments: arguments)
            completionTokens = Self.tokens(forCharacters: tool.name.count + arguments.rendered().count)
        } else {
            var echoed = digest.lastUserText
            if echoed.count > maxEchoCharacters { echoed = String(echoed.prefix(maxEchoCharacters)) }
            let text = (simulated ? "[simulated] " : "") + "Echo: " + echoed
            content = .text(text)
            completionTokens = Self.tokens(forCharacters: text.count)
        }
    }

    /// ceil(characters / 4), at least 1.
    static func tokens(forCharacters count: Int) -> Int {
        max(1, (count + 3) / 4)
    }

    private static func toolToCall(digest: ChatDigest, behavior: FakeBehavior) -> ChatDigest.Tool? {
        guard !digest.tools.isEmpty, !digest.lastIsToolResult else { return nil }
        switch digest.toolChoice {
        case .none:
            return nil
        case .named(let name):
            return digest.tools.first { $0.name == name } ?? digest.tools[0]
        case .required:
            return digest.tools[0]
        case .auto:
            guard behavior.toolCall || digest.lastUserText.contains(callToolMarker) else { return nil }
            return digest.tools[0]
        }
    }

    /// `{"city":"Paris"}`-style arguments from the schema's property names, keys sorted.
    static func arguments(for schema: JSONValue?) -> JSONText {
        guard let properties = schema?["properties"]?.object else { return .object([]) }
        return .object(properties.keys.sorted().map { name in (name, sampleValue(name: name, schema: properties[name])) })
    }

    private static func sampleValue(name: String, schema: JSONValue?) -> JSONText {
        if let first = schema?["enum"]?.array?.first {
            switch first {
            case .string(let value): return .string(value)
            case .number(let value): return .double(value)
            case .bool(let value): return .bool(value)
            default: break
            }
        }
        switch schema?["type"]?.string?.lowercased() {
        case "integer": return .int(1)
        case "number": return .int(1)
        case "boolean": return .bool(true)
        case "array": return .array([])
        case "object": return arguments(for: schema)
        default:
            let lowered = name.lowercased()
            if lowered.contains("city") || lowered.contains("location") || lowered.contains("place") { return .string("Paris") }
            return .string("example")
        }
    }
}

extension String {
    /// Splits into at most `count` non-empty pieces of near-equal length (by Character).
    func fakeChunks(_ count: Int) -> [String] {
        let characters = Array(self)
        guard !characters.isEmpty else { return [""] }
        let pieces = max(1, min(count, characters.count))
        let size = (characters.count + pieces - 1) / pieces
        return stride(from: 0, to: characters.count, by: size).map { start in
            String(characters[start..<min(start + size, characters.count)])
        }
    }
}

/// Text of a content value that is either a string or a list of `{"type":"text","text":…}` parts.
func textOfContent(_ content: JSONValue?) -> String {
    switch content {
    case .string(let text)?: return text
    case .array(let parts)?:
        return parts.compactMap { part -> String? in
            if let text = part["text"]?.string { return text }
            if part["type"]?.string == "tool_result" { return textOfContent(part["content"]) }
            return nil
        }.joined(separator: "\n")
    default: return ""
    }
}
