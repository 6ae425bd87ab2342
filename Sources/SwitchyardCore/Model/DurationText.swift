import Foundation

/// Durations as the DSL writes them: `250ms`, `20s`, `5m`, `1h`, `1d`, `7d` (also `1.5s`).
public enum DurationText {
    /// Parses a duration into seconds; nil when malformed, zero or negative.
    public static func parse(_ text: String) -> Seconds? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604_800)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            let number = t.dropLast(suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(number), v > 0, v.isFinite else { return nil }
            return v * factor
        }
        return nil
    }

    /// The shortest exact rendering: 86400 → "1d", 0.25 → "250ms".
    public static func format(_ seconds: Seconds) -> String {
        for (suffix, factor) in [("d", 86400.0), ("h", 3600), ("m", 60), ("s", 1)] where seconds >= factor && (seconds / factor).rounded() == seconds / factor {
            return "\(Int64(seconds / factor))\(suffix)"
        }
        let ms = seconds * 1000
        if ms.rounded() == ms { return "\(Int64(ms))ms" }
        return "\(seconds)s"
    }
}
