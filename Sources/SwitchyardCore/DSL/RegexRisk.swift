/// Detects the classic catastrophic-backtracking shape: a quantified group whose body already
/// contains a quantifier, such as `(a+)+`, `(a*)*` or `(\w+\s?)*`.
enum RegexRisk {
    static func nestedQuantifier(in pattern: String) -> String? {
        let s = Array(pattern.unicodeScalars)
        // For each open group: its start index and whether its body has a quantifier.
        var stack: [(start: Int, quantified: Bool)] = []
        var i = 0
        var inClass = false
        func isQuantifier(at j: Int) -> Bool {
            guard j < s.count else { return false }
            switch s[j] {
            case "*", "+": return true
            case "{":
                // {n,} or {n,m} with m > 1; {n} and {0,1} are bounded single steps.
                var k = j + 1, text = ""
                while k < s.count, s[k] != "}" { text.unicodeScalars.append(s[k]); k += 1 }
                guard k < s.count else { return false }
                let parts = text.split(separator: ",", omittingEmptySubsequences: false)
                if parts.count == 2 { return parts[1].isEmpty || (Int(parts[1]) ?? 0) > 1 }
                return (Int(text) ?? 0) > 1
            default: return false
            }
        }
        while i < s.count {
            let c = s[i]
            if c == "\\" { i += 2; continue }
            if inClass {
                if c == "]" { inClass = false }
                i += 1
                continue
            }
            switch c {
            case "[": inClass = true
            case "(": stack.append((i, false))
            case ")":
                if let group = stack.popLast() {
                    if group.quantified && isQuantifier(at: i + 1) {
                        return String(String.UnicodeScalarView(s[group.start...min(i + 1, s.count - 1)]))
                    }
                    if isQuantifier(at: i + 1) || group.quantified, !stack.isEmpty {
                        stack[stack.count - 1].quantified = true
                    }
                }
            default:
                if isQuantifier(at: i), !stack.isEmpty { stack[stack.count - 1].quantified = true }
            }
            i += 1
        }
        return nil
    }
}
