/// Anthropic Messages (wire-format reference §2).
enum AnthropicFormat {
    static func digest(_ body: JSONValue) -> ChatDigest? {
        guard let model = body["model"]?.string, let messages = body["messages"]?.array else { return nil }
        var promptParts = [textOfContent(body["system"])]
        var lastUserText = ""
        var lastIsToolResult = false
        for message in messages {
            let text = textOfContent(message["content"])
            promptParts.append(text)
            let isUser = message["role"]?.string == "user"
            if isUser { lastUserText = text }
            lastIsToolResult = isUser && (message["content"]?.array ?? []).contains { $0["type"]?.string == "tool_result" }
        }
        let tools: [ChatDigest.Tool] = (body["tools"]?.array ?? []).compactMap { tool in
            guard let name = tool["name"]?.string, tool["type"] == nil || tool["type"]?.string == "custom" else { return nil }
            return ChatDigest.Tool(name: name, parameters: tool["input_schema"])
        }
        let choice: ChatDigest.ToolChoice = switch body["tool_choice"]?["type"]?.string {
        case "none": .none
        case "any": .required
        case "tool": body["tool_choice"]?["name"]?.string.map(ChatDigest.ToolChoice.named) ?? .required
        default: .auto
        }
        return ChatDigest(
            model: model, stream: body["stream"]?.bool ?? false,
            promptText: promptParts.filter { !$0.isEmpty }.joined(separator: "\n"), lastUserText: lastUserText,
            lastIsToolResult: lastIsToolResult, tools: tools, toolChoice: choice
        )
    }

    static func messageID(_ context: AnswerContext) -> String { "msg_fake\(context.serial)" }
    static func toolUseID(_ context: AnswerContext) -> String { "toolu_fake\(context.serial)" }

    static func messagePlan(digest: ChatDigest, answer: ChatAnswer, context: AnswerContext) -> ResponsePlan {
        let headers = [("request-id", "req_fake\(context.serial)")]
        if digest.stream {
            return .sse(
                streamEvents(answer: answer, context: context),
                malformedIndex: context.behavior.malformed ? 3 : nil,
                headers: headers,
                contentType: "text/event-stream; charset=utf-8"
            )
        }
        var body = message(answer: answer, context: context).rendered()
        if context.behavior.malformed { body = String(body.prefix(body.count / 2)) }
        return .json(body, headers: headers)
    }

    static func message(answer: ChatAnswer, context: AnswerContext) -> JSONText {
        let content: JSONText
        let stopReason: String
        switch answer.content {
        case .text(let text):
            content = .object([("type", .string("text")), ("text", .string(text))])
            stopReason = "end_turn"
        case .toolCall(let name, let arguments):
            content = .object([
                ("type", .string("tool_use")), ("id", .string(toolUseID(context))),
                ("name", .string(name)), ("input", arguments),
            ])
            stopReason = "tool_use"
        }
        var members: [(String, JSONText)] = [
            ("id", .string(messageID(context))), ("type", .string("message")), ("role", .string("assistant")),
            ("model", .string(context.model)), ("content", .array([content])),
            ("stop_reason", .string(stopReason)), ("stop_sequence", .null),
        ]
        if context.usage {
            members.append(("usage", .object([
                ("input_tokens", .int(answer.promptTokens)), ("output_tokens", .int(answer.completionTokens)),
                ("cache_creation_input_tokens", .int(0)), ("cache_read_input_tokens", .int(0)),
                ("service_tier", .string("standard")),
            ])))
        }
        return .object(members)
    }

    /// message_start, content_block_start, ping, deltas, content_block_stop, message_delta, message_stop (§2.5).
    static func streamEvents(answer: ChatAnswer, context: AnswerContext) -> [SSEEvent] {
        func event(_ name: String, _ members: [(String, JSONText)]) -> SSEEvent {
            SSEEvent(name: name, data: JSONText.object([("type", .string(name))] + members).rendered())
        }
        var start: [(String, JSONText)] = [
            ("id", .string(messageID(context))), ("type", .string("message")), ("role", .string("assistant")),
            ("model", .string(context.model)), ("content", .array([])), ("stop_reason", .null), ("stop_sequence", .null),
        ]
        if context.usage {
            start.append(("usage", .object([
                ("input_tokens", .int(answer.promptTokens)), ("output_tokens", .int(1)),
                ("cache_creation_input_tokens", .int(0)), ("cache_read_input_tokens", .int(0)),
            ])))
        }
        var events = [event("message_start", [("message", .object(start))])]
        let stopReason: String
        switch answer.content {
        case .text(let text):
            events.append(event("content_block_start", [
                ("index", .int(0)), ("content_block", .object([("type", .string("text")), ("text", .string(""))])),
            ]))
            events.append(SSEEvent(name: "ping", data: "{\"type\": \"ping\"}"))
            for piece in text.fakeChunks(context.chunks) {
                events.append(event("content_block_delta", [
                    ("index", .int(0)), ("delta", .object([("type", .string("text_delta")), ("text", .string(piece))])),
                ]))
            }
            stopReason = "end_turn"
        case .toolCall(let name, let arguments):
            events.append(event("content_block_start", [
                ("index", .int(0)),
                ("content_block", .object([
                    ("type", .string("tool_use")), ("id", .string(toolUseID(context))),
                    ("name", .string(name)), ("input", .object([])),
                ])),
            ]))
            events.append(SSEEvent(name: "ping", data: "{\"type\": \"ping\"}"))
            for piece in [""] + arguments.rendered().fakeChunks(context.chunks) {
                events.append(event("content_block_delta", [
                    ("index", .int(0)),
                    ("delta", .object([("type", .string("input_json_delta")), ("partial_json", .string(piece))])),
                ]))
            }
            stopReason = "tool_use"
        }
        events.append(event("content_block_stop", [("index", .int(0))]))
        var delta: [(String, JSONText)] = [
            ("delta", .object([("stop_reason", .string(stopReason)), ("stop_sequence", .null)])),
        ]
        if context.usage { delta.append(("usage", .object([("output_tokens", .int(answer.completionTokens))]))) }
        events.append(event("message_delta", delta))
        events.append(event("message_stop", []))
        return events
    }

    static func modelsPlan(models: [String]) -> ResponsePlan {
        let data: [JSONText] = models.map { id in
            .object([
                ("type", .string("model")), ("id", .string(id)), ("display_name", .string(id)),
                ("created_at", .string("2025-01-01T00:00:00Z")),
            ])
        }
        return .json(JSONText.object([
            ("data", .array(data)), ("has_more", .bool(false)),
            ("first_id", JSONText.optionalString(models.first)), ("last_id", JSONText.optionalString(models.last)),
        ]).rendered())
    }

    static func errorBody(status: Int, message: String?, serial: Int) -> String {
        let (type, defaultMessage): (String, String) = switch status {
        case 401: ("authentication_error", "invalid x-api-key")
        case 402: ("billing_error", "Your credit balance is too low.")
        case 403: ("permission_error", "Your API key does not have permission to use the specified resource.")
        case 404: ("not_found_error", "The requested resource could not be found.")
        case 413: ("request_too_large", "Request exceeds the maximum allowed number of bytes.")
        case 429: ("rate_limit_error", "Number of requests has exceeded your rate limit.")
        case 400..<500: ("invalid_request_error", "Invalid request (simulated status \(status)).")
        case 504: ("timeout_error", "Request timed out.")
        case 529: ("overloaded_error", "Overloaded")
        default: ("api_error", "Internal server error")
        }
        return JSONText.object([
            ("type", .string("error")),
            ("error", .object([("type", .string(type)), ("message", .string(message ?? defaultMessage))])),
            ("request_id", .string("req_fake\(serial)")),
        ]).rendered()
    }
}
