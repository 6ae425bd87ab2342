import NIOCore
import Synchronization

/// The request each client connection is handling, so that a connection that closes (the client
/// reset or went away) cancels it at once: its upstream call is dropped instead of running on to
/// its first byte or its timeout, and the request ends as a 499 there and then. Without this, a
/// client could open requests and reset them faster than upstreams answer, and the gateway would
/// hold every one of those upstream calls.
///
/// HTTP/1 handles one request at a time per connection, so one entry per connection suffices.
/// `RequestReadTimeoutHandler` (in every connection's pipeline) reports the close.
final class ConnectionWatch: Sendable {
    static let shared = ConnectionWatch()

    private let running = Mutex<[ObjectIdentifier: @Sendable () -> Void]>([:])

    func register(_ connection: ObjectIdentifier, cancel: @escaping @Sendable () -> Void) {
        running.withLock { $0[connection] = cancel }
    }

    func unregister(_ connection: ObjectIdentifier) {
        running.withLock { _ = $0.removeValue(forKey: connection) }
    }

    /// The connection closed: cancel what it was handling.
    func closed(_ connection: ObjectIdentifier) {
        running.withLock { $0.removeValue(forKey: connection) }?()
    }

    var count: Int { running.withLock { $0.count } }
}
