/// "Did you mean" suggestions: the candidate nearest by edit distance, when it is near enough
/// to be a plausible typo.
public enum NameSuggestion {
    /// The nearest candidate within a distance of about a third of the name's length (at least 1, at most 3).
    public static func nearest(to name: String, in candidates: some Sequence<String>) -> String? {
        let limit = min(3, max(1, name.count / 3))
        var best: (String, Int)?
        let lowered = name.lowercased()
        let length = name.unicodeScalars.count
        for candidate in candidates where candidate != name && abs(candidate.unicodeScalars.count - length) <= limit {
            let d = distance(lowered, candidate.lowercased(), limit: limit + 1)
            if d <= limit, best == nil || d < best!.1 { best = (candidate, d) }
        }
        return best?.0
    }

    /// `; did you mean 'x'?` style text, or nil.
    public static func didYouMean(_ name: String, in candidates: some Sequence<String>) -> String? {
        nearest(to: name, in: candidates).map { "did you mean '\($0)'?" }
    }

    /// Optimal-string-alignment distance (Levenshtein plus adjacent transpositions, so
    /// `gtp` is one edit from `gpt`), giving up early (returning `limit`) once it must exceed `limit`.
    public static func distance(_ a: String, _ b: String, limit: Int = .max) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if abs(a.count - b.count) >= limit { return limit }
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMin = current[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = Swift.min(d, before[j - 2] + 1) }
                current[j] = d
                rowMin = Swift.min(rowMin, d)
            }
            if rowMin >= limit { return limit }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }
}
