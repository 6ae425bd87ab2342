import Hummingbird
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// `/compat/chat/completions`, `/compat/embeddings`, `/compat/models`: OpenAI's format in and out,
/// `model` = `{provider}/{model}` or `dynamic/{route}`.
struct CompatHandler {
    let state: GatewayState

    /// Client headers never forwarded on the compat endpoint besides `HeaderPolicy`'s: credentials
    /// (decided separately), and what the gateway sets itself.
    static let maxModelBytes = 256

    static let ownHeaders: Set<String> = PassthroughHandler.credentialHeaders.union(["content-type", "accept-encoding"])

    func complete(_ compat: CompatRequest, record: inout RequestRecord) async throws -> Response {
        let admitted = compat.admitted
        let request = admitted.head
        let options = admitted.options
        let target = compat.target
        let model = compat.model
        let body = compat.body
        let operation = compat.operation
        let stream = compat.stream
        record.model = target.model
        var routePlan: RouteAttemptPlan?
        var fixedPlan: FixedAttempts?
        if target.provider == "dynamic" {
            let graph = try state.routes.graph(named: target.model)
            let facts = RequestFacts(
                headers: request.headers.map { ($0.name.canonicalName, $0.value) },
                metadata: try record.observation.routeMetadata(header: request.headers[.cfAigMetadata]),
                body: body, reads: graph.bodyReads, model: model, gateway: record.gateway ?? "default"
            )
            record.routeFacts = (facts, graph.reads)
            routePlan = RouteAttemptPlan(graph: graph, facts: facts, limits: state.limits, providers: state.providers, now: state.now, seed: state.splitSeeds.next(), health: state.routeTable.health,
                                         picks: state.routeTable.picks, feedback: state.routeTable.feedback)
            routePlan?.trace = record.trace
        } else {
            guard let provider = state.providers.provider(slug: target.provider) else {
                let hint = NameSuggestion.nearest(to: target.provider, in: state.providers.slugs).map { "; did you mean '\($0)'?" } ?? ""
                throw GatewayError.invalidProvider("unknown provider '\(GatewayError.shown(target.provider))' in model '\(GatewayError.shown(model))'\(hint)")
            }
            record.provider = provider.slug
            fixedPlan = FixedAttempts([DispatchAttempt(provider: provider, model: target.model, timeout: nil, retries: options.retries, backoff: options.backoff)])
        }

        let credential: Credential = admitted.auth.clientBearer.map(Credential.clientKey) ?? .stored(alias: options.keyAlias)
        let forwarded = admitted.forwardedHeaders(withholding: Self.ownHeaders)
        let dispatchRequest = DispatchRequest(operation: operation, body: body, stream: stream, headers: forwarded, credential: credential, timeout: options.timeout)
        record.observation.upstreamStarted()
        let outcome: DispatchOutcome
        var settlement: BudgetSettlement?
        if var plan = routePlan {
            do {
                outcome = try await state.dispatcher.dispatch(dispatchRequest, plan: &plan, logger: state.logger)
            } catch {
                record.route = plan.run.graph.qualifiedName
                record.routePath = plan.run.pathDescription
                record.picks = PickFeedback(plan.run)
                sendMirrors(plan.run, request: dispatchRequest, head: request, record: record)
                BudgetSettlement(reservations: plan.run.reservations, limits: state.limits, prices: state.prices).settle(target: nil, usage: nil, answered: false)
                throw error
            }
            record.route = plan.run.graph.qualifiedName
            record.routePath = plan.run.pathDescription
            record.picks = PickFeedback(plan.run)
            sendMirrors(plan.run, request: dispatchRequest, head: request, record: record)
            if !plan.run.reservations.isEmpty {
                settlement = BudgetSettlement(reservations: plan.run.reservations, limits: state.limits, prices: state.prices)
            }
        } else if var plan = fixedPlan {
            outcome = try await state.dispatcher.dispatch(dispatchRequest, plan: &plan, logger: state.logger)
        } else {
            throw GatewayError.internal(record.logID)
        }
        record.provider = outcome.provider
        record.model = outcome.model
        record.step = outcome.step

        var headers = record.headers()
        for (name, value) in outcome.headers {
            if let n = HTTPField.Name(name), headers[n] == nil { headers.append(HTTPField(name: n, value: value)) }
        }
        let status = HTTPResponse.Status(code: outcome.status)
        switch outcome.body {
        case .buffered(let buffer):
            if headers[.contentType] == nil { headers[.contentType] = "application/json" }
            record.observation.answered(usage: outcome.usage.usage)
            settlement?.settle(target: ModelTarget(provider: outcome.provider, model: outcome.model), usage: outcome.usage.usage, answered: (200..<300).contains(outcome.status))
            return record.observation.bufferedResponse(status: status, headers: headers, body: buffer)
        case .stream(let events):
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            headers[.xAccelBuffering] = "no"
            let observation = record.observation
            let target = ModelTarget(provider: outcome.provider, model: outcome.model)
            let settlement = settlement
            return StreamingAnswer.response(status: status, headers: headers, chunks: events, watching: request) { end in
                // The usage the translator read, once the last event has passed.
                // (A dropped response is ended as a 499 by `GatewayControls.observe`'s guard.)
                if case .failed = end {
                    observation.answered(usage: outcome.usage.usage, note: "stream ended early: client went away")
                } else {
                    observation.answered(usage: outcome.usage.usage)
                }
                // An abandoned or cut stream's upstream cost is unknown: its estimate stays reserved as spent.
                settlement?.settle(target: target, usage: outcome.usage.usage, answered: true)
            }
        }
    }

    /// The route's `mirror:` copies, if it drew any: sent now that the request's own attempts are done.
    private func sendMirrors(_ run: RouteRun, request: DispatchRequest, head: Request, record: RequestRecord) {
        guard !run.mirrors.isEmpty else { return }
        let gateway = record.gateway ?? "default"
        let collect = state.gateways[gateway].map { head.headers[.cfAigCollectLog].flatMap(BooleanText.parse) ?? $0.settings.collectLogs } ?? false
        MirrorSender(state: state).send(run.mirrors, request: request, origin: .init(
            logID: record.logID, route: run.graph.qualifiedName, gateway: gateway, account: record.account ?? "",
            metadata: record.observation.metadata, collect: collect))
    }

    /// The models of every provider with a key, as `provider/model`, then the dynamic routes.
    func models(_ admitted: GatewayRequest, record: inout RequestRecord) async throws -> Response {
        let providers = state.providers.providers.filter { !$0.keys.isEmpty || ($0.isCustom && $0.configurationProblem == nil) }
        let dispatcher = state.dispatcher
        let logger = state.logger
        let lists = await state.controls.modelLists.lists {
            await withTaskGroup(of: (Int, [JSONValue]).self) { group in
            for (index, provider) in providers.enumerated() {
                group.addTask {
                    let models = await dispatcher.listModels(provider: provider, timeout: .seconds(10), logger: logger) ?? []
                    return (index, models.compactMap { model -> JSONValue? in
                        guard var object = model.objectValue, let id = object["id"]?.stringValue else { return nil }
                        object["id"] = .string("\(provider.slug)/\(id)")
                        if object["object"] == nil { object["object"] = .string("model") }
                        if object["owned_by"] == nil { object["owned_by"] = .string(provider.slug) }
                        return .object(object)
                    })
                }
            }
            var results: [(Int, [JSONValue])] = []
            for await r in group { results.append(r) }
            return results.sorted { $0.0 < $1.0 }.flatMap(\.1)
            }
        }
        let routes = state.routes.names.sorted().map { name -> JSONValue in
            .object(["id": .string("dynamic/\(name)"), "object": .string("model"), "created": .number(0), "owned_by": .string("switchyard")])
        }
        let body = JSONValue.object(["object": .string("list"), "data": .array(lists + routes)])
        var headers = record.headers()
        headers[.contentType] = "application/json"
        return record.observation.bufferedResponse(status: .ok, headers: headers, body: ByteBuffer(string: body.canonicalJSON))
    }
}

/// A compat chat or embeddings request, parsed once: its body as a JSON object, `model` (as
/// `provider/model` or `dynamic/route`) and `stream` checked. The cache key, the route's facts and
/// the adapters all read this value.
struct CompatRequest: Sendable {
    let admitted: GatewayRequest
    let operation: UpstreamOperation
    let body: JSONObjectBody
    /// `model` as the client wrote it.
    let model: String
    let target: ModelTarget
    let stream: Bool

    init(_ admitted: GatewayRequest, operation: UpstreamOperation) throws(GatewayError) {
        self.admitted = admitted
        self.operation = operation
        do {
            body = try JSONObjectBody(bytes: Array(admitted.body.readableBytesView))
        } catch {
            throw .invalidRequest("request body is not a JSON object: \(error)")
        }
        guard let modelValue = body.value("model") else {
            throw .invalidRequest("'model' is required, as provider/model (for example openai/gpt-5.2) or dynamic/<route>")
        }
        guard let model = modelValue.stringValue else {
            throw .invalidRequest("'model' must be a string, found \(modelValue.typeName)")
        }
        // Echoed in `cf-aig-model` and stored with every log record: no provider's model id comes close.
        guard model.utf8.count <= CompatHandler.maxModelBytes else {
            throw .invalidRequest("'model' is \(model.utf8.count) bytes long; the limit is \(CompatHandler.maxModelBytes)")
        }
        var stream = false
        if let s = body.value("stream") {
            switch s {
            case .bool(let b): stream = b
            case .null: break
            default: throw .invalidRequest("'stream' must be a boolean, found \(s.typeName)")
            }
        }
        self.stream = operation == .embeddings ? false : stream
        guard let target = ModelTarget(model) else {
            throw .invalidRequest("'model' must be provider/model (for example openai/gpt-5.2) or dynamic/<route>, got '\(GatewayError.shown(model))'")
        }
        self.model = model
        self.target = target
    }
}
