/// Turns a received request into a `ResponsePlan`: routing, knob resolution, failure counters, formats.
struct FakeResponder: Sendable {
    let state: FakeUpstreamState

    func plan(for request: RecordedRequest) -> ResponsePlan {
        let route = FakeRoute(
            method: request.method, path: request.path, query: request.query,
            anthropicVersion: request.header("anthropic-version") != nil
        )
        let body = request.body.isEmpty ? nil : JSONValue.parse(request.body)
        let model = route.pathModel ?? body?["model"]?.string
        let (serial, modelCount) = state.record(request, model: model)
        let configuration = state.configuration
        let behavior = (model.flatMap { configuration.perModel[$0] } ?? configuration.defaults)
            .overridden(by: request.header)

        var plan = decide(
            route: route, body: body, bodyEmpty: request.body.isEmpty, model: model,
            serial: serial, modelCount: modelCount, behavior: behavior, configuration: configuration
        )
        plan.latencyMs = behavior.latencyMs
        plan.chunkIntervalMs = behavior.chunkIntervalMs
        if let limit = behavior.streamErrorAfterChunks, case .stream(let events) = plan.body, plan.status < 300 {
            plan.body = .stream(Array(events.prefix(limit)) + [Self.streamErrorEvent(route.provider)])
        }
        if behavior.reset == .midStream, plan.status < 300 {
            plan.resetAfterEvents = behavior.resetAfterChunks
        }
        return plan
    }

    private func decide(
        route: FakeRoute, body: JSONValue?, bodyEmpty: Bool, model: String?, serial: Int, modelCount: Int,
        behavior: FakeBehavior, configuration: FakeUpstreamConfiguration
    ) -> ResponsePlan {
        let provider = route.provider
        if behavior.reset == .beforeFirstByte {
            return ResponsePlan(status: 0, headers: [], body: .resetBeforeFirstByte)
        }
        if modelCount <= behavior.failFirst, modelCount > 0 {
            return errorPlan(provider, status: behavior.failStatus, retryAfter: behavior.retryAfter, serial: serial)
        }
        if let status = behavior.status {
            return errorPlan(provider, status: status, retryAfter: behavior.retryAfter, serial: serial)
        }
        if let cause = behavior.error {
            return causePlan(provider, cause: cause, serial: serial)
        }
        let context = AnswerContext(serial: serial, created: configuration.clock(), model: model ?? "", behavior: behavior)
        let needsBody: Bool = switch route {
        case .openAIModels, .anthropicModels, .geminiModels, .notFound: false
        default: true
        }
        if needsBody, body == nil {
            let reason = bodyEmpty ? "The request body is empty." : "The request body is not valid JSON."
            return errorPlan(provider, status: 400, message: reason, serial: serial)
        }
        let invalid = errorPlan(provider, status: 400, message: "The request body lacks required fields.", serial: serial)

        switch route {
        case .openAIChat:
            guard let body, let digest = OpenAIFormat.digest(body) else { return invalid }
            let answer = answer(digest, behavior, configuration)
            return OpenAIFormat.chatPlan(digest: digest, answer: answer, context: context)
        case .openAIEmbeddings:
            guard let body, model != nil else { return invalid }
            return OpenAIFormat.embeddingsPlan(body: body, context: context) ?? invalid
        case .openAIModels:
            return OpenAIFormat.modelsPlan(models: modelNames(configuration), created: configuration.clock())
        case .anthropicMessages:
            guard let body, let digest = AnthropicFormat.digest(body) else { return invalid }
            let answer = answer(digest, behavior, configuration)
            return AnthropicFormat.messagePlan(digest: digest, answer: answer, context: context)
        case .anthropicModels:
            return AnthropicFormat.modelsPlan(models: modelNames(configuration))
        case .anthropicCountTokens:
            guard let body, let digest = AnthropicFormat.digest(body) else { return invalid }
            let tokens = ChatAnswer.tokens(forCharacters: digest.promptText.count)
            return .json(JSONText.object([("input_tokens", .int(tokens))]).rendered())
        case .geminiGenerate(let model, let stream, let sse):
            guard let body, let digest = GeminiFormat.digest(body, model: model, stream: stream) else { return invalid }
            let answer = answer(digest, behavior, configuration)
            return GeminiFormat.generatePlan(digest: digest, answer: answer, context: context, sse: sse)
        case .geminiEmbed(_, let batch):
            guard let body else { return invalid }
            return GeminiFormat.embedPlan(body: body, batch: batch, context: context) ?? invalid
        case .geminiModels:
            return GeminiFormat.modelsPlan(models: modelNames(configuration))
        case .geminiCountTokens(let model):
            guard let body, let digest = GeminiFormat.digest(body, model: model, stream: false) else { return invalid }
            let tokens = ChatAnswer.tokens(forCharacters: digest.promptText.count)
            return .json(JSONText.object([("totalTokens", .int(tokens))]).rendered(.gemini), contentType: "application/json; charset=UTF-8")
        case .workersAIRun(let model):
            guard let body else { return invalid }
            return WorkersAIFormat.runPlan(
                body: body, model: model, context: context,
                answer: { answer($0, behavior, configuration) }
            ) ?? errorPlan(.workersAI, status: 400, message: "Bad input: neither messages, prompt nor text given.", serial: serial)
        case .notFound:
            return errorPlan(provider, status: 404, message: "Unknown path for the fake upstream.", serial: serial)
        }
    }

    private func answer(_ digest: ChatDigest, _ behavior: FakeBehavior, _ configuration: FakeUpstreamConfiguration) -> ChatAnswer {
        ChatAnswer(
            digest: digest, behavior: behavior, simulated: configuration.simulatedMarker,
            maxEchoCharacters: configuration.maxEchoCharacters
        )
    }

    private func modelNames(_ configuration: FakeUpstreamConfiguration) -> [String] {
        let configured = configuration.perModel.keys.sorted()
        return configured.isEmpty ? ["fake-model"] : configured
    }

    /// The event a provider sends when it fails after the 200 head (reference §1.6, §2.5).
    static func streamErrorEvent(_ provider: FakeRoute.Provider) -> [UInt8] {
        switch provider {
        case .openAI, .workersAI:
            SSEEvent(data: OpenAIFormat.errorBody(status: 500, message: "The server had an error while streaming (simulated).")).bytes(lineEnding: "\n")
        case .anthropic:
            SSEEvent(name: "error", data: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#).bytes(lineEnding: "\n")
        case .gemini:
            SSEEvent(data: GeminiFormat.errorBody(status: 500, message: nil)).bytes(lineEnding: "\r\n")
        }
    }

    /// A 400 naming its cause as each provider does (reference: OpenAI `code`, Azure `innererror`,
    /// Anthropic's and Gemini's messages). Gemini blocks prompts with a 200 and `promptFeedback`
    /// rather than an error, so its content-filter answer here is the 400 an OpenAI-compatible
    /// Gemini endpoint would normalize to.
    func causePlan(_ provider: FakeRoute.Provider, cause: FakeBehavior.ErrorCause, serial: Int) -> ResponsePlan {
        switch (provider, cause) {
        case (.openAI, .contextLength), (.workersAI, .contextLength):
            let body = JSONText.object([("error", .object([
                ("message", .string("This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.")),
                ("type", .string("invalid_request_error")), ("param", .string("messages")), ("code", .string("context_length_exceeded")),
            ]))]).rendered()
            return .json(status: 400, body, headers: [("x-request-id", "req_fake\(serial)")])
        case (.openAI, .contentFilter), (.workersAI, .contentFilter):
            let body = JSONText.object([("error", .object([
                ("message", .string("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.")),
                ("type", .null), ("param", .string("prompt")), ("code", .string("content_filter")), ("status", .int(400)),
                ("innererror", .object([("code", .string("ResponsibleAIPolicyViolation"))])),
            ]))]).rendered()
            return .json(status: 400, body, headers: [("x-request-id", "req_fake\(serial)")])
        case (.anthropic, .contextLength):
            return errorPlan(provider, status: 400, message: "prompt is too long: 210000 tokens > 200000 maximum", serial: serial)
        case (.anthropic, .contentFilter):
            return errorPlan(provider, status: 400, message: "Output blocked by content filtering policy", serial: serial)
        case (.gemini, .contextLength):
            return errorPlan(provider, status: 400, message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", serial: serial)
        case (.gemini, .contentFilter):
            return errorPlan(provider, status: 400, message: "The prompt was blocked by the content filter (SAFETY).", serial: serial)
        }
    }

    func errorPlan(_ provider: FakeRoute.Provider, status: Int, message: String? = nil, retryAfter: String? = nil, serial: Int) -> ResponsePlan {
        var headers: [(String, String)] = []
        if let retryAfter { headers.append(("retry-after", retryAfter)) }
        switch provider {
        case .openAI:
            headers.append(("x-request-id", "req_fake\(serial)"))
            return .json(status: status, OpenAIFormat.errorBody(status: status, message: message), headers: headers)
        case .anthropic:
            headers.append(("request-id", "req_fake\(serial)"))
            return .json(status: status, AnthropicFormat.errorBody(status: status, message: message, serial: serial), headers: headers)
        case .gemini:
            return .json(status: status, GeminiFormat.errorBody(status: status, message: message), headers: headers,
                         contentType: "application/json; charset=UTF-8")
        case .workersAI:
            return .json(status: status, WorkersAIFormat.errorBody(status: status, message: message), headers: headers)
        }
    }
}
