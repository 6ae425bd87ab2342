import Foundation

/// Durations as the DSL writes them: `250ms`, `20s`, `5m`, `1h`, `1d`, `7d` (also `1.5s`).
public enum DurationText {
    /// The longest duration any setting takes: 10 years. Callers reject larger values (with their own
    /// message), so that no later conversion (to nanoseconds, to Int64) can overflow.
    public static let maxSeconds: Seconds = 10 * 365 * 86400

    /// Parses a duration into seconds; nil when malformed, zero, negative or not finite.
    public static func parse(_ text: String) -> Seconds? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count)
            guard !number.isEmpty, number.count <= 32, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(number), v > 0, v.isFinite else { return nil }
            let seconds = v * factor
            return seconds.isFinite ? seconds : nil
        }
        return nil
    }

    /// The shortest exact rendering: 86400 → "1d", 0.25 → "250ms".
    public static func format(_ seconds: Seconds) -> String {
        guard seconds.isFinite, abs(seconds) <= maxSeconds * 1000 else { return "\(seconds)s" }
        for (suffix, factor) in [("d", 86400.0), ("h", 3600), ("m", 60), ("s", 1)] where seconds >= factor && (seconds / factor).rounded() == seconds / factor {
            return "\(Int64(seconds / factor))\(suffix)"
        }
        let ms = seconds * 1000
        if ms.rounded() == ms { return "\(Int64(ms))ms" }
        return "\(seconds)s"
    }
}
