import NIOCore
import Synchronization
import SwitchyardCore

/// The in-process response cache: entries by key (a SHA-256 hex digest, see `CachePolicy`), each
/// with an absolute expiry on the injected clock, evicted least-recently-used beyond `maxBytes`.
///
/// Concurrent identical misses coalesce: the first becomes the leader and calls the provider;
/// the others wait for it and are served its stored answer. When the leader's answer is not
/// stored (an error status, an interrupted stream, a body too large), each waiter calls the
/// provider itself.
final class ResponseCache: Sendable {
    struct Entry: Sendable {
        var status: Int
        /// Response headers minus the per-request ones (log id, event id, cache status, length).
        var headers: [(String, String)]
        /// The body as the client received it (a stream's chunks joined: it replays as one write).
        var body: ByteBuffer
        var usage: Usage?
        var provider: String?
        var model: String?
        var step: Int
        var route: String?
        var routePath: String?
        var expiresAt: Double

        var size: Int { 256 + body.readableBytes + headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count } }
    }

    enum Lookup: Sendable {
        case hit(Entry)
        /// This request calls the provider and must `complete` the flight.
        case lead(Flight)
        /// Another request is already calling the provider for this key.
        case wait(Flight)
    }

    /// One in-progress upstream call that identical requests wait for.
    final class Flight: Sendable {
        private struct State {
            var result: Entry??
            var waiters: [Int: CheckedContinuation<Entry?, Never>] = [:]
            var next = 0
        }
        private let state = Mutex(State())

        func resolve(_ entry: Entry?) {
            let waiters = state.withLock { s -> [CheckedContinuation<Entry?, Never>] in
                guard s.result == nil else { return [] }
                s.result = .some(entry)
                defer { s.waiters = [:] }
                return Array(s.waiters.values)
            }
            for w in waiters { w.resume(returning: entry) }
        }

        /// The leader's stored entry; nil when it stored none, on timeout, or when cancelled.
        func wait(timeout: Duration) async -> Entry? {
            await withTaskGroup(of: Entry??.self) { group in
                group.addTask { .some(await self.waitForever()) }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return .none
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first ?? nil
            }
        }

        private func waitForever() async -> Entry? {
            let id = state.withLock { s -> Int in s.next += 1; return s.next }
            return await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Entry?, Never>) in
                    let ready: Entry?? = state.withLock { s in
                        if let r = s.result { return .some(r) }
                        if Task.isCancelled { return .some(nil) }
                        s.waiters[id] = c
                        return .none
                    }
                    if let ready { c.resume(returning: ready) }
                }
            } onCancel: {
                let c = state.withLock { $0.waiters.removeValue(forKey: id) }
                c?.resume(returning: nil)
            }
        }
    }

    private struct Node {
        var entry: Entry
        var older: String?
        var newer: String?
    }

    private struct State {
        var nodes: [String: Node] = [:]
        var newest: String?
        var oldest: String?
        var bytes = 0
        var flights: [String: Flight] = [:]

        mutating func unlink(_ key: String) {
            guard let node = nodes[key] else { return }
            if let o = node.older { nodes[o]?.newer = node.newer } else { oldest = node.newer }
            if let n = node.newer { nodes[n]?.older = node.older } else { newest = node.older }
            nodes[key]?.older = nil
            nodes[key]?.newer = nil
        }

        mutating func pushNewest(_ key: String) {
            nodes[key]?.older = newest
            nodes[key]?.newer = nil
            if let n = newest { nodes[n]?.newer = key }
            newest = key
            if oldest == nil { oldest = key }
        }

        mutating func remove(_ key: String) {
            guard let node = nodes[key] else { return }
            unlink(key)
            nodes[key] = nil
            bytes -= node.entry.size
        }
    }

    let maxBytes: Int
    private let state = Mutex(State())

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    var byteCount: Int { state.withLock { $0.bytes } }
    var count: Int { state.withLock { $0.nodes.count } }
    /// Upstream calls that identical requests may be waiting on: 0 once traffic stops, else a
    /// request ended without completing its flight.
    var flightCount: Int { state.withLock { $0.flights.count } }

    /// A fresh entry, else this request's role in the flight for `key`.
    func lookup(_ key: String, now: Double, coalesce: Bool = true) -> Lookup {
        state.withLock { s in
            if let node = s.nodes[key] {
                if node.entry.expiresAt > now {
                    s.unlink(key)
                    s.pushNewest(key)
                    return .hit(node.entry)
                }
                s.remove(key)
            }
            if coalesce, let flight = s.flights[key] { return .wait(flight) }
            let flight = Flight()
            if coalesce { s.flights[key] = flight }
            return .lead(flight)
        }
    }

    /// Ends the leader's flight, storing `entry` when given and small enough, and wakes the waiters.
    func complete(_ key: String, flight: Flight, entry: Entry?) {
        var stored = entry
        if let e = entry, e.size > maxBytes { stored = nil }
        state.withLock { s in
            if s.flights[key] === flight { s.flights[key] = nil }
            guard let e = stored else { return }
            s.remove(key)
            s.nodes[key] = Node(entry: e)
            s.pushNewest(key)
            s.bytes += e.size
            while s.bytes > maxBytes, let oldest = s.oldest {
                s.remove(oldest)
            }
        }
        flight.resolve(stored)
    }
}
