/// Per-response values shared by every wire format.
struct AnswerContext: Sendable {
    /// Server-wide request counter; ids are derived from it.
    var serial: Int
    var created: Int
    var model: String
    var behavior: FakeBehavior

    var usage: Bool { behavior.usage }
    var chunks: Int { max(1, behavior.chunks) }
}
