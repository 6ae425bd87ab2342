/// A route after parsing and per-field validation, before names are resolved: what both front
/// ends (the YAML DSL and Cloudflare's element JSON) produce.
struct RouteDeclaration {
    var name: String?
    var namePosition: SourcePosition?
    var description: String?
    var start: TargetRef?
    var nodes: [NodeDeclaration] = []
    /// Where the node map (or elements list) is, for "empty route" and unreachable messages.
    var nodesPosition: SourcePosition = .start
    /// Names that front ends treat as the end of the route rather than as nodes (Cloudflare `end`).
    var endNames: [String: SourcePosition] = [:]
}

/// A written reference to a node: a node name, `reject`, or an inline `provider/model` id.
struct TargetRef {
    var text: String
    var position: SourcePosition
    /// Cloudflare-only: where this edge ends the route when it names an `end` element.
    var role: EdgeRole = .next
}

enum EdgeRole { case next, limitExceeded, modelFallback }

struct NodeDeclaration {
    var name: String
    var position: SourcePosition
    /// nil when the node was invalid: it still exists as a name so references to it resolve.
    var kind: Kind?

    enum Kind {
        case conditional(condition: Condition, source: String, then: TargetRef, else: TargetRef)
        case split(arms: [SplitArm], sticky: ValuePath?, adaptive: AdaptiveSplit? = nil)
        case pick(arms: [TargetRef], spec: PickSpec)
        case rate(limit: Double, window: Seconds, key: ValuePath?, technique: RouteNode.WindowTechnique, then: TargetRef, exceeded: TargetRef?)
        case budget(limit: Double, window: Seconds, key: ValuePath?, then: TargetRef, exceeded: TargetRef?)
        case model(target: ModelTarget, timeout: Seconds?, retries: Int, backoff: Backoff, set: [String: JSONValue], fallback: TargetRef?,
                   retryOn: FailureMatcher = .defaultRetry, fallbackOn: FailureMatcher = .defaultFallback,
                   breaker: BreakerSpec? = nil, maxConcurrency: Int? = nil, mirror: MirrorDeclaration? = nil)
        case reject(status: Int, message: String?)
    }

    struct MirrorDeclaration {
        var to: TargetRef
        /// 0 < share <= 1.
        var share: Double
    }

    struct SplitArm {
        var weight: Double
        var target: TargetRef
    }

    var targets: [TargetRef] {
        switch kind {
        case .conditional(_, _, let t, let e)?: return [t, e]
        case .split(let arms, _, _)?: return arms.map(\.target)
        case .pick(let arms, _)?: return arms
        case .rate(_, _, _, _, let t, let x)?: return [t] + (x.map { [$0] } ?? [])
        case .budget(_, _, _, let t, let x)?: return [t] + (x.map { [$0] } ?? [])
        case .model(_, _, _, _, _, let f, _, _, _, _, let m)?: return (f.map { [$0] } ?? []) + (m.map { [$0.to] } ?? [])
        case .reject?, nil: return []
        }
    }
}
