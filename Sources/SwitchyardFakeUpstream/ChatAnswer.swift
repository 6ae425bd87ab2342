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
