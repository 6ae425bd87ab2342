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
