/// OpenAI Chat Completions, embeddings and models (wire-format reference §1).
enum OpenAIFormat {
    static let systemFingerprint = "fp_fake"

    static func digest(_ body: JSONValue) -> ChatDigest? {
        guard let model = body["model"]?.string, let messages = body["messages"]?.array else { return nil }
        var promptParts: [String] = []
        var lastUserText = ""
        var lastIsToolResult = false
        for message in messages {
            let role = message["role"]?.string ?? ""
            let text = textOfContent(message["content"])
            promptParts.append(text)
            if role == "user" || role == "tool" || role == "function" {
                lastUserText = text
            }
            lastIsToolResult = role == "tool" || role == "function"
        }
        let tools: [ChatDigest.Tool] = (body["tools"]?.array ?? []).compactMap { tool in
            guard let function = tool["function"], let name = function["name"]?.string else { return nil }
            return ChatDigest.Tool(name: name, parameters: function["parameters"])
        }
        let choice: ChatDigest.ToolChoice
        switch body["tool_choice"] {
        case .string("none")?: choice = .none
        case .string("required")?: choice = .required
        case .object(let object)?:
            if let name = object["function"]?["name"]?.string { choice = .named(name) } else { choice = .auto }
        default: choice = .auto
        }
        return ChatDigest(
            model: model,
            stream: body["stream"]?.bool ?? false,
            includeUsage: body["stream_options"]?["include_usage"]?.bool ?? false,
            promptText: promptParts.filter { !$0.isEmpty }.joined(separator: "\n"),
            lastUserText: lastUserText,
            lastIsToolResult: lastIsToolResult,
            tools: tools,
            toolChoice: choice
        )
    }

    static func chatPlan(digest: ChatDigest, answer: ChatAnswer, context: AnswerContext) -> ResponsePlan {
        let headers = [("x-request-id", "req_fake\(context.serial)"), ("openai-version", "2020-10-01")]
        if digest.stream {
            return .sse(
                streamEvents(digest: digest, answer: answer, context: context),
                malformedIndex: context.behavior.malformed ? 1 : nil,
                headers: headers
            )
        }
        var body = completion(answer: answer, context: context).rendered()
        if context.behavior.malformed { body = String(body.prefix(body.count / 2)) }
        return .json(body, headers: headers)
    }

    static func completionID(_ context: AnswerContext) -> String { "chatcmpl-fake-\(context.serial)" }
    static func toolCallID(_ context: AnswerContext) -> String { "call_fake\(context.serial)" }

    static func completion(answer: ChatAnswer, context: AnswerContext) -> JSONText {
        var message: [(String, JSONText)] = [("role", .string("assistant"))]
        let finishReason: String
        switch answer.content {
        case .text(let text):
            message += [("content", .string(text)), ("refusal", .null), ("annotations", .array([]))]
            finishReason = "stop"
        case .toolCall(let name, let arguments):
            message += [
                ("content", .null), ("refusal", .null), ("annotations", .array([])),
                ("tool_calls", .array([.object([
                    ("id", .string(toolCallID(context))), ("type", .string("function")),
                    ("function", .object([("name", .string(name)), ("arguments", .string(arguments.rendered()))])),
                ])])),
            ]
            finishReason = "tool_calls"
        }
        var members: [(String, JSONText)] = [
            ("id", .string(completionID(context))),
            ("object", .string("chat.completion")),
            ("created", .int(context.created)),
            ("model", .string(context.model)),
            ("choices", .array([.object([
                ("index", .int(0)), ("message", .object(message)), ("logprobs", .null),
                ("finish_reason", .string(finishReason)),
            ])])),
        ]
        if context.usage {
            members.append(("usage", .object([
                ("prompt_tokens", .int(answer.promptTokens)),
                ("completion_tokens", .int(answer.completionTokens)),
                ("total_tokens", .int(answer.totalTokens)),
                ("prompt_tokens_details", .object([("cached_tokens", .int(0)), ("audio_tokens", .int(0))])),
                ("completion_tokens_details", .object([
                    ("reasoning_tokens", .int(0)), ("audio_tokens", .int(0)),
                    ("accepted_prediction_tokens", .int(0)), ("rejected_prediction_tokens", .int(0)),
                ])),
            ])))
        }
        members += [("service_tier", .string("default")), ("system_fingerprint", .string(systemFingerprint))]
        return .object(members)
    }

    /// Events in the order OpenAI sends them: role delta, content deltas, finish, optional usage, `[DONE]`.
    static func streamEvents(digest: ChatDigest, answer: ChatAnswer, context: AnswerContext) -> [SSEEvent] {
        func chunk(_ choices: [JSONText], usage: JSONText = .null) -> SSEEvent {
            var members: [(String, JSONText)] = [
                ("id", .string(completionID(context))),
                ("object", .string("chat.completion.chunk")),
                ("created", .int(context.created)),
                ("model", .string(context.model)),
                ("system_fingerprint", .string(systemFingerprint)),
                ("choices", .array(choices)),
            ]
            if digest.includeUsage { members.append(("usage", usage)) }
            return SSEEvent(data: JSONText.object(members).rendered())
        }
        func choice(_ delta: [(String, JSONText)], finish: String? = nil) -> JSONText {
            .object([
                ("index", .int(0)), ("delta", .object(delta)), ("logprobs", .null),
                ("finish_reason", JSONText.optionalString(finish)),
            ])
        }

        var events: [SSEEvent] = []
        let finishReason: String
        switch answer.content {
        case .text(let text):
            events.append(chunk([choice([("role", .string("assistant")), ("content", .string("")), ("refusal", .null)])]))
            for piece in text.fakeChunks(context.chunks) {
                events.append(chunk([choice([("content", .string(piece))])]))
            }
            finishReason = "stop"
        case .toolCall(let name, let arguments):
            events.append(chunk([choice([
                ("role", .string("assistant")), ("content", .null),
                ("tool_calls", .array([.object([
                    ("index", .int(0)), ("id", .string(toolCallID(context))), ("type", .string("function")),
                    ("function", .object([("name", .string(name)), ("arguments", .string(""))])),
                ])])),
            ])]))
            for piece in arguments.rendered().fakeChunks(context.chunks) {
                events.append(chunk([choice([
                    ("tool_calls", .array([.object([
                        ("index", .int(0)), ("function", .object([("arguments", .string(piece))])),
                    ])])),
                ])]))
            }
            finishReason = "tool_calls"
        }
        events.append(chunk([choice([], finish: finishReason)]))
        if digest.includeUsage && context.usage {
            events.append(chunk([], usage: .object([
                ("prompt_tokens", .int(answer.promptTokens)),
                ("completion_tokens", .int(answer.completionTokens)),
                ("total_tokens", .int(answer.totalTokens)),
                ("prompt_tokens_details", .object([("cached_tokens", .int(0))])),
                ("completion_tokens_details", .object([("reasoning_tokens", .int(0))])),
            ])))
        }
        events.append(SSEEvent(data: "[DONE]"))
        return events
    }

    static func embeddingsPlan(body: JSONValue, context: AnswerContext) -> ResponsePlan? {
        let inputs: [String]
        switch body["input"] {
        case .string(let text)?: inputs = [text]
        case .array(let items)?:
            if items.allSatisfy({ $0.string != nil }) {
                inputs = items.compactMap(\.string)
            } else if items.allSatisfy({ $0.int != nil }) {
                inputs = [items.compactMap(\.int).map(String.init).joined(separator: " ")]
            } else {
                inputs = items.map { ($0.array ?? []).compactMap(\.int).map(String.init).joined(separator: " ") }
            }
        default: return nil
        }
        guard !inputs.isEmpty else { return nil }
        let dimensions = body["dimensions"]?.int ?? 8
        guard FakeEmbedding.fits(repeatElement(dimensions, count: inputs.count)) else { return nil }
        let promptTokens = inputs.reduce(0) { $0 + ChatAnswer.tokens(forCharacters: $1.count) }
        var members: [(String, JSONText)] = [
            ("object", .string("list")),
            ("data", .array(inputs.enumerated().map { index, text in
                .object([
                    ("object", .string("embedding")), ("index", .int(index)),
                    ("embedding", .array(FakeEmbedding.vector(for: text, dimensions: dimensions))),
                ])
            })),
            ("model", .string(context.model)),
        ]
        if context.usage {
            members.append(("usage", .object([("prompt_tokens", .int(promptTokens)), ("total_tokens", .int(promptTokens))])))
        }
        var text = JSONText.object(members).rendered()
        if context.behavior.malformed { text = String(text.prefix(text.count / 2)) }
        return .json(text, headers: [("x-request-id", "req_fake\(context.serial)")])
    }

    static func modelsPlan(models: [String], created: Int) -> ResponsePlan {
        let body = JSONText.object([
            ("object", .string("list")),
            ("data", .array(models.map { id in
                .object([("id", .string(id)), ("object", .string("model")), ("created", .int(created)), ("owned_by", .string("system"))])
            })),
        ])
        return .json(body.rendered())
    }

    static func errorBody(status: Int, message: String? = nil) -> String {
        let (type, code, defaultMessage): (String, String?, String) = switch status {
        case 401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
        case 403: ("invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported.")
        case 404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it.")
        case 408: ("timeout", nil, "Request timed out.")
        case 429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later.")
        case 400..<500: ("invalid_request_error", nil, "Invalid request (simulated status \(status)).")
        case 503: ("server_error", nil, "The engine is currently overloaded, please try again later.")
        default: ("server_error", nil, "The server had an error while processing your request.")
        }
        return JSONText.object([("error", .object([
            ("message", .string(message ?? defaultMessage)), ("type", .string(type)),
            ("param", .null), ("code", JSONText.optionalString(code)),
        ]))]).rendered()
    }
}
