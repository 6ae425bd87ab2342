import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP client on blocking sockets, for what an HTTP client library will not do: send half
/// a request and stop, or reset the connection (RST) at a chosen point. Every call runs on a
/// Dispatch thread, never on the cooperative pool the gateway's handlers need.
final class RawConnection: @unchecked Sendable {
    enum Failure: Error { case socket, connect(Int32) }

    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Connects to 127.0.0.1:`port`; reads give up after `receiveTimeout` (a guard against hangs).
    static func open(port: Int, receiveTimeout: Int = 20) async throws -> RawConnection {
        try await blocking {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure.socket }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else {
                let code = errno
                Glibc.close(fd)
                throw Failure.connect(code)
            }
            var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return RawConnection(fd: fd)
        }
    }

    func send(_ text: String) async { await send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) async {
        await Self.blocking { [fd] in
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    enum Read: Equatable {
        case bytes([UInt8])
        /// The peer closed the connection (orderly or reset).
        case closed
        /// Nothing arrived within the receive timeout.
        case timedOut
    }

    func receive(max: Int = 65536) async -> Read {
        await Self.blocking { [fd] in
            var buffer = [UInt8](repeating: 0, count: max)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
            if n > 0 { return .bytes(Array(buffer[..<n])) }
            if n == 0 { return .closed }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .timedOut : .closed
        }
    }

    /// Reads until `predicate` holds for everything received so far, the peer closes, or a read times out.
    func receive(until predicate: ([UInt8]) -> Bool) async -> (bytes: [UInt8], end: Read?) {
        var all: [UInt8] = []
        while !predicate(all) {
            switch await receive() {
            case .bytes(let b): all += b
            case let end: return (all, end)
            }
        }
        return (all, nil)
    }

    /// Closes with SO_LINGER 0: the peer sees a reset, not an orderly end.
    func reset() async {
        await Self.blocking { [fd] in
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            Glibc.close(fd)
        }
    }

    func close() async {
        await Self.blocking { [fd] in _ = Glibc.close(fd) }
    }

    private static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    private static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: body()) }
        }
    }
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}
