import Foundation
import Logging
import NIOCore
import SwitchyardCore

/// Why one model attempt (after its retries) did not serve the request.
public enum AttemptFailure: Sendable {
    /// The upstream answered with an error status; the body is already in OpenAI's error shape.
    case response(DispatchOutcome)
    /// No usable answer: connection failure, timeout, malformed body, or a configuration problem.
    case error(GatewayError)
}

public enum AttemptResult: Sendable {
    /// The provider started answering with a 2xx.
    case served(DispatchOutcome)
    case failed(AttemptFailure)
}

/// Runs one `DispatchAttempt` with its retries, as `RetryPolicy` says: connection failures,
/// timeouts to first byte, 408, 429 and 5xx are retried after the backoff delay (with jitter, or
/// the upstream's `Retry-After` up to the policy's cap); other 4xx and configuration problems
/// are not. Shared by plain `provider/model` calls, dynamic routes and the universal endpoint.
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

    public func run<R: RandomNumberGenerator>(
        _ request: DispatchRequest, attempt: DispatchAttempt, rng: inout R, logger: Logger
    ) async throws -> AttemptResult {
        var failure: AttemptFailure = .error(.unreachable(provider: attempt.provider.slug, reason: "not tried"))
        let tries = max(0, attempt.retries) + 1
        for tryNumber in 1...tries {
            let kind: RetryPolicy.Failure
            var retryAfter: Seconds?
            do {
                let outcome = try await dispatcher.once(request, attempt: attempt, logger: logger)
                // A 2xx whose body is not JSON has already thrown (2005) in `once`, and is retried as a connection failure.
                if (200..<300).contains(outcome.status) {
                    return .served(outcome)
                } else {
                    failure = .response(outcome)
                    kind = .status(outcome.status)
                    if let value = outcome.headers.first(where: { $0.0 == "retry-after" })?.1 {
                        retryAfter = RetryPolicy.parseRetryAfter(value, now: now())
                    }
                }
            } catch let error as GatewayError {
                failure = .error(error)
                switch error.code {
                case 2044: kind = .timeout
                case 2005: kind = .connection
                default: return .failed(failure)
                }
            }
            guard tryNumber < tries, RetryPolicy.isRetryable(kind) else { break }
            let delay = policy.delay(beforeRetry: tryNumber, backoff: attempt.backoff, retryAfter: retryAfter, rng: &rng)
            logger.debug("upstream attempt failed, trying again", metadata: [
                "provider": "\(attempt.provider.slug)", "model": "\(attempt.model)", "failure": "\(kind)", "delay_s": "\(delay)",
            ])
            dispatcher.observer.retried(attempt.provider.slug)
            try await sleep(delay)
        }
        return .failed(failure)
    }
}
