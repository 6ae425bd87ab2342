import SwitchyardCore

/// An OpenAI chat completions request, validated once and normalised for the provider translators.
///
/// Each provider translator reads this instead of the raw JSON, so a malformed request fails the same
/// way whatever the provider, and each field is checked in exactly one place.
struct OpenAIChatRequest: Sendable {
    enum Role: String, Sendable { case system, developer, user, assistant, tool }

    enum Part: Sendable {
        case text(String, cacheControl: JSONValue?)
        case image(url: String, param: String)
        case audio(data: String, format: String, param: String)
        case file(data: String?, fileID: String?, filename: String?, param: String)
        case refusal(String)
    }

    struct ToolCall: Sendable {
        var id: String
        var name: String
        var arguments: String
        var param: String
        var raw: [String: JSONValue]
    }

    struct Message: Sendable {
        var role: Role
        var index: Int
        var parts: [Part]
        /// True when `content` was a plain string (or null), not an array of parts.
        var contentWasString: Bool
        var toolCalls: [ToolCall]
        var toolCallID: String?
        /// LiteLLM-compatible `thinking_blocks` on an assistant message, echoed to Anthropic unmodified.
        var thinkingBlocks: [JSONValue]

        var param: String { "messages[\(index)]" }

        /// The concatenated text parts (refusals included), for providers that take plain strings.
        var text: String {
            parts.compactMap {
                switch $0 {
                case .text(let t, _): t
                case .refusal(let t): t
                default: nil
                }
            }.joined()
        }
    }

    struct Tool: Sendable {
        var name: String
        var description: String?
        var parameters: JSONValue?
    }

    enum ToolChoice: Sendable, Equatable {
        case auto, none, required
        case function(String)
    }

    enum ResponseFormat: Sendable {
        case text
        case jsonObject
        case jsonSchema(name: String?, schema: JSONValue, strict: Bool?)
    }

    var raw: [String: JSONValue]
    var messages: [Message] = []
    var tools: [Tool] = []
    var toolChoice: ToolChoice?
    var parallelToolCalls: Bool?
    var responseFormat: ResponseFormat = .text
    var stop: [String] = []
    var temperature: Double?
    var topP: Double?
    var maxTokens: Int?
    var maxTokensParam = "max_tokens"
    var n: Int?
    var seed: Int?
    var user: String?
    var reasoningEffort: String?
    var stream = false
    var includeUsage = false
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var logprobs = false
    var topLogprobs: Int?
    var hasLogitBias = false

    init(_ body: JSONValue) throws(TranslationError) {
        guard case .object(let o) = body else {
            throw .invalid(nil, "The request body must be a JSON object.")
        }
        raw = o
        guard case .array(let msgs)? = o["messages"] else {
            throw .invalid("messages", "'messages' must be an array of message objects.")
        }
        if msgs.isEmpty { throw .invalid("messages", "'messages' must contain at least one message.") }
        for (i, m) in msgs.enumerated() { messages.append(try Self.message(m, index: i)) }

        if let t = o["tools"], t != .null {
            guard case .array(let list) = t else { throw .invalid("tools", "'tools' must be an array.") }
            for (i, item) in list.enumerated() { tools.append(try Self.tool(item, param: "tools[\(i)]")) }
        }
        toolChoice = try Self.toolChoice(o["tool_choice"])
        parallelToolCalls = try Self.bool(o, "parallel_tool_calls")
        responseFormat = try Self.responseFormat(o["response_format"])

        switch o["stop"] {
        case nil, .null?: break
        case .string(let s)?: stop = [s]
        case .array(let a)?:
            stop = try a.enumerated().map { (i, v) throws(TranslationError) in
                guard case .string(let s) = v else { throw .invalid("stop[\(i)]", "'stop' entries must be strings.") }
                return s
            }
        default: throw .invalid("stop", "'stop' must be a string or an array of strings.")
        }

        temperature = try Self.number(o, "temperature", range: 0...2)
        topP = try Self.number(o, "top_p", range: 0...1)
        presencePenalty = try Self.number(o, "presence_penalty", range: -2...2)
        frequencyPenalty = try Self.number(o, "frequency_penalty", range: -2...2)
        if let v = try Self.int(o, "max_completion_tokens", min: 1) {
            maxTokens = v
            maxTokensParam = "max_completion_tokens"
        } else {
            maxTokens = try Self.int(o, "max_tokens", min: 1)
        }
        n = try Self.int(o, "n", min: 1)
        seed = try Self.int(o, "seed", min: Int.min)
        let safetyIdentifier = try Self.string(o, "safety_identifier")
        user = try Self.string(o, "user") ?? safetyIdentifier
        reasoningEffort = try Self.string(o, "reasoning_effort")
        stream = try Self.bool(o, "stream") ?? false
        if case .object(let so)? = o["stream_options"] {
            includeUsage = try Self.bool(so, "include_usage", prefix: "stream_options.") ?? false
        }
        logprobs = try Self.bool(o, "logprobs") ?? false
        topLogprobs = try Self.int(o, "top_logprobs", min: 0)
        if case .object(let lb)? = o["logit_bias"], !lb.isEmpty { hasLogitBias = true }
    }

    /// The fields no translated provider can honour and that OpenAI does not treat as optional hints.
    /// Each provider translator calls this first.
    func rejectUniversallyUnsupported(provider: String) throws(TranslationError) {
        if raw["functions"] != nil && raw["functions"] != .null {
            throw .unsupported("functions", provider: provider, "use 'tools' instead")
        }
        if raw["function_call"] != nil && raw["function_call"] != .null {
            throw .unsupported("function_call", provider: provider, "use 'tool_choice' instead")
        }
        if let audio = raw["audio"], audio != .null { throw .unsupported("audio", provider: provider) }
        if case .array(let mods)? = raw["modalities"], mods.contains(where: { $0 != .string("text") }) {
            throw .unsupportedValue("modalities", provider: provider, "only [\"text\"] is supported")
        }
        if let w = raw["web_search_options"], w != .null { throw .unsupported("web_search_options", provider: provider) }
        if hasLogitBias { throw .unsupported("logit_bias", provider: provider) }
    }

    /// The function name of the earlier assistant tool call with this id (Gemini needs it in
    /// `functionResponse`; OpenAI tool messages carry only the id).
    func toolCall(id: String, before index: Int) -> ToolCall? {
        for m in messages[..<index].reversed() {
            if let c = m.toolCalls.first(where: { $0.id == id }) { return c }
        }
        return nil
    }

    // MARK: - Field readers

    private static func message(_ value: JSONValue, index: Int) throws(TranslationError) -> Message {
        let p = "messages[\(index)]"
        guard case .object(let o) = value else { throw .invalid(p, "Each message must be an object.") }
        guard let roleText = o["role"]?.stringValue else { throw .invalid("\(p).role", "Each message needs a 'role'.") }
        let role: Role
        switch roleText {
        case "function": role = .tool
        default:
            guard let r = Role(rawValue: roleText) else {
                throw .invalid("\(p).role", "Unknown message role '\(roleText)'.")
            }
            role = r
        }
        var msg = Message(role: role, index: index, parts: [], contentWasString: true, toolCalls: [],
                          toolCallID: nil, thinkingBlocks: [])
        switch o["content"] {
        case nil, .null?: break
        case .string(let s)?: msg.parts = [.text(s, cacheControl: nil)]
        case .array(let items)?:
            msg.contentWasString = false
            for (j, item) in items.enumerated() { msg.parts.append(try part(item, param: "\(p).content[\(j)]")) }
        default: throw .invalid("\(p).content", "'content' must be a string, an array of content parts or null.")
        }
        if role == .assistant, case .string(let r)? = o["refusal"], msg.parts.isEmpty {
            msg.parts = [.refusal(r)]
        }
        if case .array(let calls)? = o["tool_calls"] {
            guard role == .assistant else { throw .invalid("\(p).tool_calls", "Only assistant messages carry 'tool_calls'.") }
            for (j, c) in calls.enumerated() {
                let cp = "\(p).tool_calls[\(j)]"
                guard case .object(let co) = c, case .object(let fn)? = co["function"],
                      let name = fn["name"]?.stringValue
                else { throw .invalid(cp, "Each tool call needs 'function.name'.") }
                let args: String
                switch fn["arguments"] {
                case .string(let s)?: args = s
                case nil, .null?: args = ""
                case let other?: args = TranslationJSON.encodeSorted(other)
                }
                let id = co["id"]?.stringValue ?? ""
                msg.toolCalls.append(ToolCall(id: id, name: name, arguments: args, param: cp, raw: co))
            }
        }
        if role == .tool {
            guard let id = o["tool_call_id"]?.stringValue else {
                if roleText == "function", let name = o["name"]?.stringValue {
                    msg.toolCallID = name
                    return msg
                }
                throw .invalid("\(p).tool_call_id", "Tool messages need a 'tool_call_id'.")
            }
            msg.toolCallID = id
        }
        if role == .assistant, case .array(let blocks)? = o["thinking_blocks"] { msg.thinkingBlocks = blocks }
        return msg
    }

    private static func part(_ value: JSONValue, param p: String) throws(TranslationError) -> Part {
        guard case .object(let o) = value, let type = o["type"]?.stringValue else {
            throw .invalid(p, "Each content part must be an object with a 'type'.")
        }
        switch type {
        case "text":
            guard let t = o["text"]?.stringValue else { throw .invalid("\(p).text", "Text parts need a 'text' string.") }
            return .text(t, cacheControl: o["cache_control"])
        case "refusal":
            return .refusal(o["refusal"]?.stringValue ?? "")
        case "image_url":
            let url: String? = o["image_url"]?["url"]?.stringValue ?? o["image_url"]?.stringValue
            guard let url else { throw .invalid("\(p).image_url", "Image parts need 'image_url.url'.") }
            return .image(url: url, param: "\(p).image_url")
        case "input_audio":
            guard let data = o["input_audio"]?["data"]?.stringValue, let format = o["input_audio"]?["format"]?.stringValue else {
                throw .invalid("\(p).input_audio", "Audio parts need 'input_audio.data' and 'input_audio.format'.")
            }
            return .audio(data: data, format: format, param: "\(p).input_audio")
        case "file":
            let f = o["file"]
            return .file(data: f?["file_data"]?.stringValue, fileID: f?["file_id"]?.stringValue,
                         filename: f?["filename"]?.stringValue, param: "\(p).file")
        default:
            throw .invalid("\(p).type", "Unknown content part type '\(type)'.")
        }
    }

    private static func tool(_ value: JSONValue, param p: String) throws(TranslationError) -> Tool {
        guard case .object(let o) = value else { throw .invalid(p, "Each tool must be an object.") }
        let type = o["type"]?.stringValue ?? "function"
        guard type == "function" else {
            throw .invalid("\(p).type", "Only tools of type 'function' can be translated; got '\(type)'.")
        }
        guard case .object(let fn)? = o["function"], let name = fn["name"]?.stringValue, !name.isEmpty else {
            throw .invalid("\(p).function.name", "Each tool needs 'function.name'.")
        }
        let params = fn["parameters"].flatMap { $0 == .null ? nil : $0 }
        return Tool(name: name, description: fn["description"]?.stringValue, parameters: params)
    }

    private static func toolChoice(_ value: JSONValue?) throws(TranslationError) -> ToolChoice? {
        switch value {
        case nil, .null?: return nil
        case .string("auto")?: return .auto
        case .string("none")?: return ToolChoice.none
        case .string("required")?: return .required
        case .object(let o)?:
            if o["type"]?.stringValue == "function", let name = o["function"]?["name"]?.stringValue {
                return .function(name)
            }
            let type = o["type"]?.stringValue ?? "?"
            throw .invalid("tool_choice", "Unsupported 'tool_choice' of type '\(type)'; use auto, none, required or a function.")
        default:
            throw .invalid("tool_choice", "'tool_choice' must be \"auto\", \"none\", \"required\" or {\"type\":\"function\",...}.")
        }
    }

    private static func responseFormat(_ value: JSONValue?) throws(TranslationError) -> ResponseFormat {
        switch value {
        case nil, .null?: return .text
        case .object(let o)?:
            switch o["type"]?.stringValue {
            case "text": return .text
            case "json_object": return .jsonObject
            case "json_schema":
                guard case .object(let js)? = o["json_schema"] else {
                    throw .invalid("response_format.json_schema", "'json_schema' needs a 'json_schema' object.")
                }
                let schema = js["schema"] ?? .object(["type": .string("object")])
                return .jsonSchema(name: js["name"]?.stringValue, schema: schema, strict: js["strict"]?.boolValue)
            default:
                throw .invalid("response_format.type", "'response_format.type' must be text, json_object or json_schema.")
            }
        default: throw .invalid("response_format", "'response_format' must be an object.")
        }
    }

    private static func number(_ o: [String: JSONValue], _ key: String, range: ClosedRange<Double>) throws(TranslationError) -> Double? {
        switch o[key] {
        case nil, .null?: return nil
        case .number(let n)?:
            guard range.contains(n) else {
                throw .invalid(key, "'\(key)' must be between \(fmt(range.lowerBound)) and \(fmt(range.upperBound)); got \(fmt(n)).")
            }
            return n
        default: throw .invalid(key, "'\(key)' must be a number.")
        }
    }

    private static func int(_ o: [String: JSONValue], _ key: String, min: Int) throws(TranslationError) -> Int? {
        switch o[key] {
        case nil, .null?: return nil
        case .number(let n)? where n.rounded() == n && abs(n) < 9.0e15:
            guard Int(n) >= min else { throw .invalid(key, "'\(key)' must be at least \(min); got \(Int(n)).") }
            return Int(n)
        default: throw .invalid(key, "'\(key)' must be an integer.")
        }
    }

    private static func bool(_ o: [String: JSONValue], _ key: String, prefix: String = "") throws(TranslationError) -> Bool? {
        switch o[key] {
        case nil, .null?: return nil
        case .bool(let b)?: return b
        default: throw .invalid(prefix + key, "'\(prefix + key)' must be a boolean.")
        }
    }

    private static func string(_ o: [String: JSONValue], _ key: String) throws(TranslationError) -> String? {
        switch o[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw .invalid(key, "'\(key)' must be a string.")
        }
    }

    static func fmt(_ n: Double) -> String { TranslationJSON.encode(.number(n)) }
}
