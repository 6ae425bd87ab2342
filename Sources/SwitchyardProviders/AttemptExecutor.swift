import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SwitchyardCore
import Tracing

/// Why one model attempt (after its retries) did not serve the request.
public enum AttemptFailure: Sendable {
    /// The upstream answered with an error status; the body is already in OpenAI's error shape.
    case response(DispatchOutcome)
    /// No usable answer: connection failure, timeout, malformed body, or a configuration problem.
    case error(GatewayError)

    /// The failure as `retry_on`/`fallback_on` name it; nil for a problem of the gateway itself
    /// (configuration, a missing key), which no list names.
    public var upstreamFailure: UpstreamFailure? {
        switch self {
        case .response(let outcome): UpstreamFailure(.status(outcome.status), reason: outcome.errorReason)
        case .error(let error):
            switch error.kind {
            case .timeout: UpstreamFailure(.timeout)
            case .noResponse: UpstreamFailure(.connection)
            default: nil
            }
        }
    }
}

public enum AttemptResult: Sendable {
    /// The provider started answering with a 2xx.
    case served(DispatchOutcome)
    case failed(AttemptFailure)
}

/// What the retry loop reads of one upstream answer: its status and `Retry-After`.
public protocol UpstreamAnswer: Sendable {
    var statusCode: Int { get }
    /// The `Retry-After` header value, if any.
    var retryAfter: String? { get }
    /// What the error body says about the cause (`retry_on: [context_length]`); nil when unread.
    var errorReason: UpstreamErrorReason? { get }
}

extension UpstreamAnswer {
    public var errorReason: UpstreamErrorReason? { nil }
}

extension DispatchOutcome: UpstreamAnswer {
    public var statusCode: Int { status }
    public var retryAfter: String? { headers.first(where: { $0.0 == "retry-after" })?.1 }
}

/// A provider-native answer (`Dispatcher.passthrough`), its body still unread.
extension HTTPClientResponse: UpstreamAnswer {
    public var statusCode: Int { Int(status.code) }
    public var retryAfter: String? { headers.first(name: "retry-after") }
}

/// How the tries of one attempt ended.
public enum TriesResult<Answer: UpstreamAnswer>: Sendable {
    /// A 2xx answer.
    case served(Answer)
    /// An error status: one that is not retried, or the last try's.
    case rejected(Answer)
    /// No answer: a connection failure or timeout on the last try, or a problem no retry can fix.
    case error(GatewayError)
}

/// Runs one attempt with its retries, as `RetryPolicy` says: connection failures, timeouts to
/// first byte, 408, 429 and 5xx are retried after the backoff delay (with jitter, or the
/// upstream's `Retry-After` up to the policy's cap); other 4xx and configuration problems are
/// not. Shared by plain `provider/model` calls and dynamic routes (`run(_:attempt:rng:logger:)`,
/// a translated `DispatchAttempt`) and the universal endpoint's provider-native steps
/// (`run(provider:...)` around a passthrough try): one retry loop for every upstream call.
public struct AttemptExecutor: Sendable {
    public let dispatcher: Dispatcher
    public let policy: RetryPolicy
    /// Unix seconds, for HTTP-date `Retry-After` values.
    public let now: @Sendable () -> Double
    /// Waits between tries; tests inject one that records instead of sleeping.
    public let sleep: @Sendable (Seconds) async throws -> Void

    public init(
        dispatcher: Dispatcher, policy: RetryPolicy = RetryPolicy(),
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
        sleep: @escaping @Sendable (Seconds) async throws -> Void = AttemptExecutor.taskSleep
    ) {
        self.dispatcher = dispatcher
        self.policy = policy
        self.now = now
        self.sleep = sleep
    }

    public static let taskSleep: @Sendable (Seconds) async throws -> Void = { seconds in
        if seconds > 0 { try await Task.sleep(for: .milliseconds(Int64((seconds * 1000).rounded(.up)))) }
    }

    /// `fallback`: an earlier model of the plan failed (shown on the tries' spans).
    public func run<R: RandomNumberGenerator>(
        _ request: DispatchRequest, attempt: DispatchAttempt, fallback: Bool = false, rng: inout R, logger: Logger
    ) async throws -> AttemptResult {
        let result = try await run(provider: attempt.provider.slug, model: attempt.model, step: attempt.step, fallback: fallback, retries: attempt.retries, backoff: attempt.backoff,
                                   retryOn: attempt.retryOn, rng: &rng, logger: logger) {
            try await dispatcher.once(request, attempt: attempt, logger: logger)
        }
        switch result {
        case .served(let outcome): return .served(outcome)
        case .rejected(let outcome): return .failed(.response(outcome))
        case .error(let error): return .failed(.error(error))
        }
    }

    /// The retry loop around any kind of try. `once` makes one upstream call and returns its
    /// answer, or throws `GatewayError` 2005 (connection failure, malformed answer: retried), 2044
    /// (no first byte in time: retried) or another code (a problem no retry fixes: returned at
    /// once). An error answer that is going to be retried is handed to `discard` first, so that a
    /// passthrough answer's body can be drained and its connection reused.
    public func run<Answer: UpstreamAnswer, R: RandomNumberGenerator>(
        provider: String, model: String? = nil, step: Int? = nil, fallback: Bool = false, retries: Int, backoff: Backoff, retryOn: FailureMatcher = .defaultRetry,
        rng: inout R, logger: Logger,
        discard: (Answer) async -> Void = { _ in },
        try once: () async throws -> Answer
    ) async throws -> TriesResult<Answer> {
        var last: TriesResult<Answer> = .error(.unreachable(provider: provider, reason: "not tried"))
        let tries = max(0, retries) + 1
        for tryNumber in 1...tries {
            let kind: RetryPolicy.Failure
            var reason: UpstreamErrorReason?
            var retryAfter: Seconds?
            do {
                let answer: Answer
                if let tracer = dispatcher.tracer {
                    answer = try await Self.traced(tracer, provider: provider, model: model, step: step, tryNumber: tryNumber, fallback: fallback, once)
                } else {
                    answer = try await once()
                }
                // A 2xx whose body is not JSON has already thrown (2005) in `once`, and is retried as a connection failure.
                if (200..<300).contains(answer.statusCode) { return .served(answer) }
                last = .rejected(answer)
                kind = .status(answer.statusCode)
                reason = answer.errorReason
                retryAfter = answer.retryAfter.flatMap { RetryPolicy.parseRetryAfter($0, now: now()) }
            } catch let error as GatewayError {
                last = .error(error)
                switch error.kind {
                case .timeout: kind = .timeout
                case .noResponse: kind = .connection
                default: return last
                }
            }
            guard tryNumber < tries, retryOn.matches(UpstreamFailure(kind, reason: reason)) else { break }
            if case .rejected(let answer) = last { await discard(answer) }
            let delay = policy.delay(beforeRetry: tryNumber, backoff: backoff, retryAfter: retryAfter, rng: &rng)
            logger.debug("upstream attempt failed, trying again", metadata: [
                "provider": "\(provider)", "model": "\(model ?? "-")", "failure": "\(kind)", "delay_s": "\(delay)",
            ])
            dispatcher.observer.retried(provider)
            try await sleep(delay)
        }
        return last
    }

    /// One upstream try as a client span, child of the current one (the request's): the upstream
    /// call made inside it carries it as `traceparent`. It ends when the answer's head is in (a
    /// stream's body belongs to the request span).
    static func traced<Answer: UpstreamAnswer>(
        _ tracer: any Tracer, provider: String, model: String?, step: Int?, tryNumber: Int, fallback: Bool,
        _ once: () async throws -> Answer
    ) async throws -> Answer {
        let span = tracer.startSpan("switchyard.attempt", context: ServiceContext.current ?? .topLevel, ofKind: .client)
        defer { span.end() }
        span.attributes["gen_ai.provider.name"] = provider
        if let model { span.attributes["gen_ai.request.model"] = model }
        if let step { span.attributes["switchyard.step"] = step }
        span.attributes["switchyard.attempt.try"] = tryNumber
        span.attributes["switchyard.retry"] = tryNumber > 1
        span.attributes["switchyard.fallback"] = fallback
        do {
            let answer = try await ServiceContext.$current.withValue(span.context) { try await once() }
            span.attributes["http.response.status_code"] = answer.statusCode
            if !(200..<300).contains(answer.statusCode) {
                span.attributes["error.type"] = String(answer.statusCode)
                span.setStatus(SpanStatus(code: .error))
            }
            return answer
        } catch let error as GatewayError {
            span.attributes["error.type"] = String(error.code)
            span.setStatus(SpanStatus(code: .error, message: error.message))
            throw error
        } catch {
            span.attributes["error.type"] = error is CancellationError ? "cancelled" : "internal"
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }
}
