import Foundation

/// Which failures are retried and how long to wait: pure, so the executor and `explain` agree.
///
/// Retried: connection failures, timeouts to first byte, 408, 429 and every 5xx. Not retried:
/// any other 4xx (the request itself is wrong; another try cannot fix it).
///
/// Delay before retry n (1-based), with d the backoff delay:
/// constant d, linear d·n, exponential d·2^(n−1); then multiplied by a uniform jitter factor in
/// [1 − jitter, 1 + jitter]. A `Retry-After` from the upstream replaces the computed delay when it
/// is longer, capped at `maxRetryAfter`.
public struct RetryPolicy: Sendable, Hashable {
    public var jitter: Double
    public var maxRetryAfter: Seconds

    public init(jitter: Double = 0.2, maxRetryAfter: Seconds = 30) {
        self.jitter = jitter
        self.maxRetryAfter = maxRetryAfter
    }

    public enum Failure: Sendable, Hashable {
        /// The upstream answered with this status.
        case status(Int)
        /// Connection refused, reset, or a malformed response.
        case connection
        /// No first byte within the timeout.
        case timeout
    }

    public static func isRetryable(_ failure: Failure) -> Bool {
        switch failure {
        case .connection, .timeout: true
        case .status(let s): s == 408 || s == 429 || s >= 500
        }
    }

    public func delay<R: RandomNumberGenerator>(
        beforeRetry retry: Int, backoff: Backoff, retryAfter: Seconds?, rng: inout R
    ) -> Seconds {
        var d = backoff.delay(beforeRetry: retry)
        if jitter > 0, d > 0 {
            let u = Double(rng.next() >> 11) * 0x1p-53
            d *= 1 - jitter + 2 * jitter * u
        }
        if let retryAfter { d = max(d, min(retryAfter, maxRetryAfter)) }
        return d
    }

    /// Parses a `Retry-After` value: delta-seconds or an HTTP date (relative to `now`, unix seconds).
    public static func parseRetryAfter(_ value: String, now: Double) -> Seconds? {
        let v = value.trimmingCharacters(in: .whitespaces)
        if let s = Double(v), s >= 0, s.isFinite { return s }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = f.date(from: v) { return max(0, date.timeIntervalSince1970 - now) }
        return nil
    }
}
