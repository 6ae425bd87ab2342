import Hummingbird
import Synchronization

/// Runs its action exactly once unless disarmed first: when the last reference to it goes away.
///
/// A streamed response's bookkeeping (request-log record, metrics, budget settlement, cache flight)
/// runs inside its body closure. When the client resets the connection before the response head is
/// written, Hummingbird drops the response without ever calling that closure; the guard the closure
/// captured is released with it and runs the same bookkeeping for an abandoned request. Nothing
/// else refers to the guard, so its release is exactly "the body will never be written".
final class AbandonGuard: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>

    init(_ action: @escaping @Sendable () -> Void) {
        self.action = Mutex(action)
    }

    /// The body closure started: from here on it ends the request itself, whatever way it ends.
    func disarm() {
        action.withLock { $0 = nil }
    }

    deinit {
        if let action = action.withLock({ $0 }) { action() }
    }
}

extension ResponseBody {
    /// A closure body whose `ifNeverWritten` runs when the response is dropped before its body is
    /// written (the client went away before the head). `write` must itself end the request on every
    /// path it can take (normal end, write failure, cancellation).
    static func guarded(
        contentLength: Int? = nil,
        ifNeverWritten: @escaping @Sendable () -> Void,
        _ write: @escaping @Sendable (inout any ResponseBodyWriter) async throws -> Void
    ) -> ResponseBody {
        let abandon = AbandonGuard(ifNeverWritten)
        return ResponseBody(contentLength: contentLength) { writer in
            abandon.disarm()
            try await write(&writer)
        }
    }
}
