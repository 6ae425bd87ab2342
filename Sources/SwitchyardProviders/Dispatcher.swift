import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore
import Synchronization
import Tracing

/// One model to try: what a route's model node (or the plain `provider/model` of a request) becomes.
public struct DispatchAttempt: Sendable {
    public var provider: UpstreamProvider
    /// Without the provider prefix.
    public var model: String
    /// To first byte; nil = the request's or the gateway's default.
    public var timeout: Duration?
    /// Extra tries after the first one.
    public var retries: Int
    public var backoff: Backoff
    public var overrides: [String: JSONValue]
    /// `cf-aig-step` when this attempt serves the request.
    public var step: Int
    /// Failures tried again while retries are left (a route node's `retry_on`).
    public var retryOn: FailureMatcher
    /// Failures after which the plan's next attempt is tried (`fallback_on`); any other failure is
    /// the request's answer. Problems of the gateway's own configuration always move on.
    public var fallbackOn: FailureMatcher

    public init(provider: UpstreamProvider, model: String, timeout: Duration? = nil, retries: Int = 0,
                backoff: Backoff = Backoff(delay: 0, mode: .constant), overrides: [String: JSONValue] = [:], step: Int = 0,
                retryOn: FailureMatcher = .defaultRetry, fallbackOn: FailureMatcher = .defaultFallback) {
        self.provider = provider
        self.model = model
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.overrides = overrides
        self.step = step
        self.retryOn = retryOn
        self.fallbackOn = fallbackOn
    }
}

/// The attempts of one request, handed out one at a time: a fixed list, or a route that is walked
/// further each time an attempt fails (its `fallback` edges).
public protocol AttemptPlan: Sendable {
    /// The first attempt, then after each failure the next one; nil when none is left. Throws when
    /// the plan itself ends the request (a route's rate limit or reject node).
    mutating func next() throws(GatewayError) -> DispatchAttempt?
    /// How the attempt `next` handed out last ended (after its retries): route plans feed it to
    /// the target's breaker and in-flight count.
    mutating func finished(_ report: AttemptReport)
}

extension AttemptPlan {
    public mutating func finished(_ report: AttemptReport) {}
}

public struct FixedAttempts: AttemptPlan {
    private let attempts: [DispatchAttempt]
    private var index = 0

    public init(_ attempts: [DispatchAttempt]) { self.attempts = attempts }

    public mutating func next() throws(GatewayError) -> DispatchAttempt? {
        guard index < attempts.count else { return nil }
        defer { index += 1 }
        return attempts[index]
    }
}

/// How the upstream request is authenticated.
public enum Credential: Sendable {
    /// The client's own provider key (the `Authorization: Bearer` of the compat endpoint).
    case clientKey(String)
    /// A stored key by alias (`default` unless `cf-aig-byok-alias` names another).
    case stored(alias: String)
    /// Passthrough: the client sent provider auth headers of its own, forwarded as they are.
    case clientHeaders
}

public struct DispatchRequest: Sendable {
    public var operation: UpstreamOperation
    public var body: JSONObjectBody
    public var stream: Bool
    /// Client headers already filtered by `HeaderPolicy`, credentials excluded.
    public var headers: [(String, String)]
    public var credential: Credential
    /// `cf-aig-request-timeout`.
    public var timeout: Duration?

    public init(operation: UpstreamOperation, body: JSONObjectBody, stream: Bool, headers: [(String, String)], credential: Credential, timeout: Duration? = nil) {
        self.operation = operation
        self.body = body
        self.stream = stream
        self.headers = headers
        self.credential = credential
        self.timeout = timeout
    }
}

public struct DispatchOutcome: Sendable {
    public enum Body: Sendable {
        case buffered(ByteBuffer)
        case stream(UpstreamEventStream)
    }
    public var step: Int
    public var provider: String
    public var model: String
    public var status: Int
    /// Upstream response headers that may reach the client.
    public var headers: [(String, String)]
    public var body: Body
    public var usage: UsageRecorder
    /// For error statuses: the cause the provider's error body names (`fallback_on: [context_length]`).
    public var errorReason: UpstreamErrorReason? = nil
}

/// Executes an ordered list of attempts (retries with backoff, then the next attempt) against the
/// providers' adapters over one shared `HTTPClient`. The route engine plans; this only executes.
public struct Dispatcher: Sendable {
    public let client: HTTPClient
    public let defaultTimeout: Duration
    /// Upper bound of a buffered upstream body.
    public let maxResponseBytes: Int
    /// Told of retries and fallbacks (metrics).
    public var observer = DispatchObserver()
    /// What is retried and how long to wait (`executor`).
    public var retryPolicy = RetryPolicy()
    /// Records a span per upstream try and sends `traceparent` upstream; nil (the default) = no
    /// tracing work at all on the request path.
    public var tracer: (any Tracer)? = nil
    /// Waits between two tries of an attempt; tests inject one that records instead of sleeping.
    public var retrySleep: @Sendable (Seconds) async throws -> Void = AttemptExecutor.taskSleep

    /// The retry loop every upstream call of the gateway goes through: compat and dynamic routes
    /// (`dispatch`) and the universal endpoint's steps.
    public var executor: AttemptExecutor {
        AttemptExecutor(dispatcher: self, policy: retryPolicy, sleep: retrySleep)
    }

    public init(client: HTTPClient, defaultTimeout: Duration, maxResponseBytes: Int = 64 << 20) {
        self.client = client
        self.defaultTimeout = defaultTimeout
        self.maxResponseBytes = maxResponseBytes
    }

    /// Tries the plan's attempts in order, each with its retries (`AttemptExecutor`: the attempt's
    /// `retryOn` failures, backoff with jitter, `Retry-After` up to its cap), then the next one when
    /// the failure is among the attempt's `fallbackOn` (by default the retried failures, so any
    /// other 4xx ends the request). Returns the first answer or the first failure that does not move
    /// on, else the last upstream error response, else throws the last gateway error.
    public func dispatch(_ request: DispatchRequest, plan: inout some AttemptPlan, executor: AttemptExecutor? = nil, logger: Logger) async throws -> DispatchOutcome {
        let executor = executor ?? self.executor
        var rng = SplitMix64(seed: UInt64.random(in: .min ... .max))
        var last: AttemptFailure?
        var previous: DispatchAttempt?
        while let attempt = try plan.next() {
            if let failed = previous { observer.fellBack(failed.provider.slug) }
            let fallback = previous != nil
            previous = attempt
            let result: AttemptResult
            do {
                result = try await executor.run(request, attempt: attempt, fallback: fallback, rng: &rng, logger: logger)
            } catch {
                plan.finished(.abandoned)
                throw error
            }
            switch result {
            case .served(let outcome):
                plan.finished(.served)
                return outcome
            case .failed(let failure):
                plan.finished(.failed(failure.upstreamFailure))
                if let upstream = failure.upstreamFailure, !attempt.fallbackOn.matches(upstream) {
                    switch failure {
                    case .response(let outcome): return outcome
                    case .error(let error): throw error
                    }
                }
                last = failure
            }
        }
        switch last {
        case .response(let outcome)?: return outcome
        case .error(let error)?: throw error
        case nil: throw GatewayError.unreachable(provider: "none", reason: "no model to try")
        }
    }

    func once(_ request: DispatchRequest, attempt: DispatchAttempt, logger: Logger) async throws -> DispatchOutcome {
        let provider = attempt.provider
        if let problem = provider.configurationProblem {
            throw GatewayError.invalidProvider("provider '\(provider.slug)' is not configured: \(problem)")
        }
        let adapterRequest = AdapterRequest(operation: request.operation, body: request.body, model: attempt.model, stream: request.stream, overrides: attempt.overrides)
        let prepared: PreparedRequest
        do {
            prepared = try provider.adapter.prepare(adapterRequest, provider: provider)
        } catch let error as TranslationError {
            // Answered like an upstream 400 in OpenAI's shape, so the client sees which `param` to fix.
            return DispatchOutcome(
                step: attempt.step, provider: provider.slug, model: attempt.model, status: error.status,
                headers: [("content-type", "application/json")], body: .buffered(error.openAIBody.translatedBuffer), usage: UsageRecorder()
            )
        }
        var headers = HTTPHeaders()
        for (name, value) in request.headers { headers.add(name: name, value: value) }
        for (name, value) in prepared.headers { headers.replaceOrAdd(name: name, value: value) }
        try authenticate(&headers, credential: request.credential, provider: provider)
        headers.replaceOrAdd(name: "content-type", value: "application/json")

        var upstreamRequest = HTTPClientRequest(url: (prepared.baseURL ?? provider.baseURL) + prepared.path)
        upstreamRequest.method = .POST
        upstreamRequest.headers = headers
        upstreamRequest.body = .bytes(ByteBuffer(bytes: prepared.body))

        let timeout = attempt.timeout ?? request.timeout ?? defaultTimeout
        let response = try await execute(upstreamRequest, timeout: timeout, provider: provider.slug, logger: logger)
        var status = Int(response.status.code)
        let responseHeaders = response.headers.compactMap { h -> (String, String)? in
            let name = h.name.lowercased()
            return HeaderPolicy.forwardsResponseHeader(name) && name != "content-encoding" ? (name, h.value) : nil
        }
        let usage = UsageRecorder()
        func outcome(_ body: DispatchOutcome.Body, headers: [(String, String)]) -> DispatchOutcome {
            DispatchOutcome(step: attempt.step, provider: provider.slug, model: attempt.model, status: status, headers: headers, body: body, usage: usage)
        }
        guard (200..<300).contains(status) else {
            let body = try await collect(response, provider: provider.slug)
            let translated = provider.adapter.translateError(status: status, body: body, provider: provider)
            let reason = UpstreamErrorReason.classify(status: status, body: try? JSONValue.parse(bytes: body.readableBytesView))
                ?? UpstreamErrorReason.classify(status: translated.status, body: try? JSONValue.parse(bytes: translated.body.readableBytesView))
            status = translated.status
            var answer = outcome(.buffered(translated.body), headers: Self.replacingContentType(responseHeaders, with: "application/json"))
            answer.errorReason = reason
            return answer
        }
        let contentType = response.headers.first(name: "content-type")?.lowercased() ?? ""
        if request.stream, contentType.hasPrefix("text/event-stream") {
            let translator = provider.adapter.makeStreamTranslator(request: adapterRequest, prepared: prepared)
            let events = UpstreamEventStream(body: response.body, translator: translator, usage: usage, provider: provider.slug)
            return outcome(.stream(events), headers: responseHeaders)
        }
        guard let body = provider.adapter.translateResponse(try await collect(response, provider: provider.slug), request: adapterRequest),
              let scanned = try? JSONObjectBody(bytes: Array(body.readableBytesView))
        else {
            throw GatewayError.unreachable(provider: provider.slug, reason: "malformed response body")
        }
        if let u = scanned.value("usage") { usage.record(UsageParser.usage(fromUsageObject: u)) }
        return outcome(.buffered(body), headers: responseHeaders)
    }

    static func replacingContentType(_ headers: [(String, String)], with value: String) -> [(String, String)] {
        headers.filter { $0.0 != "content-type" } + [("content-type", value)]
    }

    func authenticate(_ headers: inout HTTPHeaders, credential: Credential, provider: UpstreamProvider) throws {
        switch credential {
        case .clientHeaders:
            return
        case .clientKey(let key):
            let h = provider.authHeader(key: key)
            headers.replaceOrAdd(name: h.name, value: h.value)
        case .stored(let alias):
            if let key = provider.keys[alias] {
                let h = provider.authHeader(key: key)
                headers.replaceOrAdd(name: h.name, value: h.value)
            } else if alias != "default" {
                throw GatewayError.unknownKeyAlias(alias, provider: provider.slug, known: Array(provider.keys.keys))
            } else if provider.requiresKey {
                throw GatewayError.missingKey(provider: provider.slug, variables: provider.keyVariables)
            }
        }
    }

    /// Passthrough: the client's request goes to `{base_url}{pathAndQuery}` as it came; the
    /// response is returned unread so that it can be streamed to the client.
    public func passthrough(
        provider: UpstreamProvider, method: HTTPMethod, pathAndQuery: String, headers: [(String, String)],
        body: ByteBuffer?, credential: Credential, timeout: Duration?, logger: Logger
    ) async throws -> HTTPClientResponse {
        if let problem = provider.configurationProblem {
            throw GatewayError.invalidProvider("provider '\(provider.slug)' is not configured: \(problem)")
        }
        var h = HTTPHeaders()
        for (name, value) in headers { h.add(name: name, value: value) }
        try authenticate(&h, credential: credential, provider: provider)
        var upstreamRequest = HTTPClientRequest(url: provider.baseURL + pathAndQuery)
        upstreamRequest.method = method
        upstreamRequest.headers = h
        if let body, body.readableBytes > 0 || method == .POST || method == .PUT || method == .PATCH {
            upstreamRequest.body = .bytes(body)
        }
        return try await execute(upstreamRequest, timeout: timeout ?? defaultTimeout, provider: provider.slug, logger: logger)
    }

    /// Lists a provider's models through its OpenAI-style `/models`; nil on any failure.
    public func listModels(provider: UpstreamProvider, timeout: Duration, logger: Logger) async -> [JSONValue]? {
        guard let path = provider.adapter.modelsPath, provider.configurationProblem == nil else { return nil }
        var headers = HTTPHeaders()
        guard (try? authenticate(&headers, credential: .stored(alias: "default"), provider: provider)) != nil else { return nil }
        var request = HTTPClientRequest(url: provider.baseURL + path)
        request.headers = headers
        guard let response = try? await execute(request, timeout: timeout, provider: provider.slug, logger: logger),
              response.status == .ok,
              let body = try? await response.body.collect(upTo: maxResponseBytes),
              let list = try? JSONValue.parse(bytes: body.readableBytesView)["data"]?.arrayValue
        else { return nil }
        return list
    }

    /// Sends the request and waits for the response head, at most `timeout`.
    ///
    /// AsyncHTTPClient's deadline is a NIO scheduled task that it cancels as soon as the response
    /// head arrives, so it bounds the time to first byte and never a stream's body. (A `Task.sleep`
    /// raced against the request kept its memory until its deadline even when cancelled, which
    /// under load held 120 s worth of timers: bench/results/SOAK.md.)
    func execute(_ request: HTTPClientRequest, timeout: Duration, provider: String, logger: Logger) async throws -> HTTPClientResponse {
        let nanoseconds = Self.nanoseconds(timeout)
        var request = request
        if let tracer, let context = ServiceContext.current {
            // The current span (the try's, else the request's) becomes the upstream's parent.
            tracer.inject(context, into: &request.headers, using: HTTPHeadersInjector())
        }
        do {
            return try await client.execute(request, deadline: .now() + .nanoseconds(nanoseconds), logger: logger.logLevel <= .debug ? logger : Self.quietLogger)
        } catch {
            if let error = error as? HTTPClientError, error == .deadlineExceeded {
                throw GatewayError.timeout(provider: provider, milliseconds: Int(nanoseconds / 1_000_000))
            }
            if let error = error as? GatewayError { throw error }
            if Task.isCancelled { throw CancellationError() }
            throw GatewayError.unreachable(provider: provider, reason: Self.describe(error))
        }
    }

    /// AsyncHTTPClient tags the logger it is given with a request id for every request (a copy of
    /// the handler and its metadata: ~1 % of the CPU per request) and logs only at debug and
    /// trace; below those levels it gets a logger that does nothing.
    static let quietLogger = Logger(label: "switchyard.upstream", factory: { _ in SwiftLogNoOpLogHandler() })

    /// `timeout` in nanoseconds, saturated to 1 ns ... 1 day: a timeout can come from a header, a route
    /// or the configuration, and `seconds * 1e9` must not trap whatever it says.
    public static func nanoseconds(_ timeout: Duration) -> Int64 {
        let (seconds, attoseconds) = timeout.components
        guard seconds >= 0 else { return 1 }
        guard seconds < 86400 else { return 86400 * 1_000_000_000 }
        return max(1, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    func collect(_ response: HTTPClientResponse, provider: String) async throws -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: maxResponseBytes)
        } catch is NIOTooManyBytesError {
            // An answer that never ends (an event stream to a request that did not ask for one) or is too big to hold.
            throw GatewayError.unreachable(provider: provider, reason: "the response body is larger than the limit of \(maxResponseBytes) bytes")
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw GatewayError.unreachable(provider: provider, reason: "response body failed: \(Self.describe(error))")
        }
    }

    public static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return "\(e)" }
        return String(describing: error)
    }
}

/// Writes `traceparent` (and whatever else the tracer propagates) into an upstream request,
/// replacing a value the client sent.
struct HTTPHeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout HTTPHeaders) {
        carrier.replaceOrAdd(name: key, value: value)
    }
}
