/// Deterministic embedding vectors: a hash of the input seeds a SplitMix64 sequence.
enum FakeEmbedding {
    /// The most values a vector has, whatever `dimensions` a request names: as many as the largest
    /// real embedding models return. `switchyard serve --demo` runs the fake in the gateway's
    /// process, where a request for 10^15 dimensions aborted the whole gateway.
    static let maxDimensions = 3072
    /// The most values one answer holds (about 10 MB of JSON): a request for more, such as 2,048
    /// inputs at 3,072 dimensions, is refused with a 400 instead of built in memory.
    static let maxValuesPerAnswer = 1 << 20

    /// Whether vectors of these requested dimensions (one per input) fit in one answer.
    static func fits(_ dimensions: some Sequence<Int>) -> Bool {
        var total = 0
        for d in dimensions {
            total += min(max(1, d), maxDimensions)
            if total > maxValuesPerAnswer { return false }
        }
        return true
    }

    static func vector(for text: String, dimensions requested: Int) -> [JSONText] {
        let dimensions = min(requested, Self.maxDimensions)
        var state: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            state ^= UInt64(byte)
            state &*= 0x100_0000_01b3
        }
        return (0..<max(1, dimensions)).map { _ in
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            z ^= z >> 31
            let micro = Int(z % 2_000_001) - 1_000_000
            return .double(Double(micro) / 1_000_000)
        }
    }
}
