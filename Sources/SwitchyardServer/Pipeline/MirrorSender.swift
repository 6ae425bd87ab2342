import Foundation
import Logging
import NIOCore
import Synchronization
import SwitchyardCore
import SwitchyardProviders

/// Sends a route's `mirror:` copies once the request's own answer has started: off the request's
/// path (a task of its own, never awaited by the client's response), bounded (`maxInFlight`
/// copies at once, more are dropped and counted), with the mirror node's timeout. The copy's
/// answer is read to its end and recorded in the request log under the route, with
/// `metadata.mirror_of` naming the request it copied; it is never returned and counts against no
/// limit or budget. A copy never carries the client's own provider key (the stored key is used).
struct MirrorSender: Sendable {
    let state: GatewayState

    /// Copies in flight across the process.
    static let maxInFlight = 64
    /// The mirror target's timeout when its node sets none: to first byte, then as long again for the rest.
    static let defaultTimeout: Seconds = 60

    struct Origin: Sendable {
        let logID: String
        let route: String
        let gateway: String
        let account: String
        let metadata: [String: JSONValue]
        let collect: Bool
    }

    func send(_ mirrors: [RouteMirror], request: DispatchRequest, origin: Origin) {
        for mirror in mirrors {
            let controls = state.controls
            let admitted = controls.mirrorsInFlight.wrappingAdd(1, ordering: .relaxed).newValue <= Self.maxInFlight
            guard admitted, let provider = state.providers.provider(slug: mirror.target.provider) else {
                controls.mirrorsInFlight.wrappingSubtract(1, ordering: .relaxed)
                controls.metrics.mirror(route: origin.route, result: admitted ? "error" : "dropped")
                continue
            }
            let timeout = mirror.timeout ?? Self.defaultTimeout
            let attempt = DispatchAttempt(provider: provider, model: mirror.target.model, timeout: .milliseconds(Int64(timeout * 1000)), retries: 0, overrides: mirror.set)
            var copy = request
            copy.timeout = .milliseconds(Int64(timeout * 2000))
            // The client's own provider key was given for the request it made, not for a copy
            // the route sends elsewhere: a copy uses the gateway's stored key.
            if case .clientKey = copy.credential { copy.credential = .stored(alias: "default") }
            let dispatcher = state.dispatcher
            let logger = state.logger
            let started = ContinuousClock.now
            let createdAt = state.now()
            Task {
                defer { controls.mirrorsInFlight.wrappingSubtract(1, ordering: .relaxed) }
                var status = 502
                var usage: Usage?
                var bytes = 0
                var note: String?
                do {
                    var plan = FixedAttempts([attempt])
                    let outcome = try await dispatcher.dispatch(copy, plan: &plan, logger: logger)
                    status = outcome.status
                    switch outcome.body {
                    case .buffered(let buffer): bytes = buffer.readableBytes
                    case .stream(let events):
                        for try await chunk in events { bytes += chunk.readableBytes }
                    }
                    usage = outcome.usage.usage
                } catch let error as GatewayError {
                    status = error.status
                    note = error.message
                } catch {
                    note = "mirror failed: \(type(of: error))"
                }
                let duration = ContinuousClock.now - started
                let ok = (200..<300).contains(status) && note == nil
                controls.metrics.mirror(route: origin.route, result: ok ? "ok" : "error")
                logger.debug("mirror", metadata: ["mirror_of": .string(origin.logID), "route": .string(origin.route), "status": .stringConvertible(status),
                                                  "model": .string(mirror.target.description), "note": .string(note ?? "")])
                guard origin.collect, let writer = controls.writer else { return }
                let cost = usage.map { controls.prices.cost(of: $0, for: mirror.target) } ?? 0
                var metadata = origin.metadata
                metadata["mirror_of"] = .string(origin.logID)
                let record = RequestLogRecord(
                    id: LogID.make(), createdAt: createdAt, gateway: origin.gateway, account: origin.account,
                    provider: mirror.target.provider, model: mirror.target.model, route: origin.route, routePath: "\(mirror.node)~mirror>\(mirror.mirrorNode)",
                    step: 0, path: "mirror", statusCode: status, success: ok, stream: request.stream,
                    durationMs: GatewayControls.milliseconds(duration), usage: usage ?? Usage(), cost: cost, metadata: metadata, responseSize: bytes
                )
                writer.submit(record, payload: nil)
            }
        }
    }
}
