/// A pattern compiled to a Thompson NFA: a list of instructions that `RegexProgram.run` simulates
/// breadth-first (Pike VM), so a match takes at most (instructions × characters) steps.
struct RegexProgram: Sendable {
    enum Instruction: Sendable {
        /// Consume exactly this scalar.
        case scalar(Unicode.Scalar)
        /// Consume one scalar of `classes[i]`.
        case set(Int)
        /// Continue at both targets.
        case split(Int, Int)
        case jump(Int)
        /// Continue at the next instruction if the assertion holds here.
        case assert(RegexAssertion)
        case match
    }

    private(set) var instructions: [Instruction] = []
    private(set) var classes: [RegexCharClass] = []
    /// Each class's ASCII answers (`asciiLow`, `asciiHigh`), flat, so the matching loop tests
    /// ASCII input without touching the class.
    private(set) var asciiMaps: [UInt64] = []
    /// Every match starts at the input's start (`^` leads every branch): one start thread only.
    private(set) var anchoredAtStart = false
    private(set) var usesWordBoundary = false

    /// Most instructions a pattern may compile to, after counted repetitions are expanded.
    static let maxInstructions = 4_000

    init(_ syntax: RegexSyntax) throws(RegexPatternError) {
        let ci = syntax.caseInsensitive
        try emit(syntax.root, caseInsensitive: ci)
        instructions.append(.match)
        anchoredAtStart = Self.startsWithCaret(syntax.root)
        asciiMaps = classes.flatMap { [$0.asciiLow, $0.asciiHigh] }
    }

    var count: Int { instructions.count }

    private mutating func append(_ i: Instruction, for node: RegexNode) throws(RegexPatternError) -> Int {
        guard instructions.count < Self.maxInstructions else {
            throw RegexPatternError(
                offset: node.range.lowerBound,
                message: "the regular expression is too large once its repetition counts are expanded (more than \(Self.maxInstructions) NFA instructions)",
                suggestion: "use smaller counts in {n,m}, or '+'/'*'")
        }
        instructions.append(i)
        return instructions.count - 1
    }

    private mutating func emit(_ node: RegexNode, caseInsensitive ci: Bool) throws(RegexPatternError) {
        switch node.kind {
        case .empty:
            break
        case .literal(let c):
            let variants = ci ? RegexUnicode.caseEquivalents(c) : [c]
            if variants.count == 1 {
                _ = try append(.scalar(c), for: node)
            } else {
                classes.append(RegexCharClass(ranges: variants.map { $0.value...$0.value }))
                _ = try append(.set(classes.count - 1), for: node)
            }
        case .set(let cls):
            if let index = classes.firstIndex(of: cls) {
                _ = try append(.set(index), for: node)
            } else {
                classes.append(cls)
                _ = try append(.set(classes.count - 1), for: node)
            }
        case .assertion(let a):
            if a == .wordBoundary || a == .notWordBoundary { usesWordBoundary = true }
            _ = try append(.assert(a), for: node)
        case .group(let inner):
            try emit(inner, caseInsensitive: ci)
        case .concat(let items):
            for item in items { try emit(item, caseInsensitive: ci) }
        case .alternation(let branches):
            // split L1, next; L1: b1; jump end; next: split L2, ... ; last: bn; end:
            var jumps: [Int] = []
            for (k, branch) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = try append(.split(0, 0), for: node)
                    try emit(branch, caseInsensitive: ci)
                    jumps.append(try append(.jump(0), for: node))
                    instructions[split] = .split(split + 1, instructions.count)
                } else {
                    try emit(branch, caseInsensitive: ci)
                }
            }
            for j in jumps { instructions[j] = .jump(instructions.count) }
        case .repetition(let body, let low, let high):
            for _ in 0..<low { try emit(body, caseInsensitive: ci) }
            if let high {
                // x{0,3} as (?:x(?:x(?:x)?)?)?: each optional copy may skip to the end.
                var splits: [Int] = []
                for _ in low..<high {
                    splits.append(try append(.split(0, 0), for: node))
                    try emit(body, caseInsensitive: ci)
                }
                for s in splits { instructions[s] = .split(s + 1, instructions.count) }
            } else {
                // loop: split body, exit; body; jump loop; exit:
                let loop = try append(.split(0, 0), for: node)
                try emit(body, caseInsensitive: ci)
                _ = try append(.jump(loop), for: node)
                instructions[loop] = .split(loop + 1, instructions.count)
            }
        }
    }

    /// Whether every way through `node` begins with `^` (conservative: false when unsure).
    private static func startsWithCaret(_ node: RegexNode) -> Bool {
        switch node.kind {
        case .assertion(.start): true
        case .group(let inner): startsWithCaret(inner)
        case .concat(let items): items.first.map(startsWithCaret) ?? false
        case .alternation(let branches): branches.allSatisfy(startsWithCaret)
        case .repetition(let body, let low, _): low > 0 && startsWithCaret(body)
        default: false
        }
    }
}

// MARK: - Matching

extension RegexProgram {
    struct Outcome: Sendable, Equatable {
        var matched: Bool
        /// Instructions visited: a measure of the work done, bounded by
        /// `2 × instructions × (scalars examined + 1)`.
        var steps: Int
        /// The step budget ran out before an answer (then `matched` is false).
        var exhausted: Bool = false
    }

    /// Whether the pattern matches anywhere in `input`, examining at most its first
    /// `maxUTF8Bytes` bytes (whole scalars). A match must lie within that prefix; `$` and `\b`
    /// still see the true input, so `$` never matches at the cut of a longer value.
    func run(_ input: String, maxUTF8Bytes: Int, stepBudget: Int) -> Outcome {
        instructions.withUnsafeBufferPointer { code in
            classes.withUnsafeBufferPointer { sets in
                asciiMaps.withUnsafeBufferPointer { ascii in
                    withUnsafeTemporaryAllocation(of: Int32.self, capacity: 4 * code.count + 2 * sets.count) { buffer in
                        Self.run(input, code: code, sets: sets, ascii: ascii, memory: buffer.baseAddress!, anchoredAtStart: anchoredAtStart,
                                 usesWordBoundary: usesWordBoundary, maxUTF8Bytes: maxUTF8Bytes, stepBudget: stepBudget)
                    }
                }
            }
        }
    }

    private static func run(
        _ input: String, code: UnsafeBufferPointer<Instruction>, sets: UnsafeBufferPointer<RegexCharClass>, ascii: UnsafeBufferPointer<UInt64>,
        memory: UnsafeMutablePointer<Int32>, anchoredAtStart: Bool, usesWordBoundary: Bool, maxUTF8Bytes: Int, stepBudget: Int
    ) -> Outcome {
        let n = code.count
        let marks = memory          // generation at which each instruction was last added
        var current = memory + n    // threads waiting to consume the next scalar
        var next = memory + 2 * n
        let stack = memory + 3 * n
        // Per class, the generation whose scalar it was last tested on and the answer: a scalar
        // outside ASCII is looked up once per position, however many threads test it.
        let memoGeneration = memory + 4 * n
        let memoAnswer = memory + 4 * n + sets.count
        marks.initialize(repeating: 0, count: n)
        memoGeneration.initialize(repeating: 0, count: sets.count)
        var currentCount = 0
        var nextCount = 0
        var steps = 0

        let scalars = input.unicodeScalars
        let end = scalars.endIndex
        var index = scalars.startIndex
        var position: Int32 = 0
        var bytes = 0
        var previous: Unicode.Scalar? = nil
        var previousIsWord = false

        // Assertions at the position being entered, described by `index` and `previous`.
        var atBoundary = false
        var endState: Int8 = -1  // -1 unknown, 0 false, 1 true

        func boundary() -> Bool {
            guard index < end else { return previousIsWord }
            let c = scalars[index]
            if RegexUnicode.isBoundaryTransparent(c) { return false }
            return RegexUnicode.isWord(c) != previousIsWord
        }

        func endHolds() -> Bool {
            guard index < end else { return true }
            let c1 = scalars[index]
            let i1 = scalars.index(after: index)
            if i1 == end {
                return RegexUnicode.isLineTerminator(c1.value) && !(c1 == "\n" && previous == "\r")
            }
            let c2 = scalars[i1]
            return c1 == "\r" && c2 == "\n" && scalars.index(after: i1) == end
        }

        /// Adds `pc` and everything reachable from it without consuming input to `list`;
        /// true when that reaches `match`.
        func add(_ pc: Int, generation: Int32, to list: UnsafeMutablePointer<Int32>, count: inout Int) -> Bool {
            if marks[pc] == generation { return false }
            marks[pc] = generation
            stack[0] = Int32(pc)
            var depth = 1
            while depth > 0 {
                depth -= 1
                let pc = Int(stack[depth])
                steps += 1
                var follow = -1, alsoFollow = -1
                switch code[pc] {
                case .scalar, .set:
                    list[count] = Int32(pc)
                    count += 1
                case .match:
                    return true
                case .jump(let target):
                    follow = target
                case .split(let a, let b):
                    follow = a
                    alsoFollow = b
                case .assert(let a):
                    let holds: Bool
                    switch a {
                    case .start: holds = position == 0
                    case .wordBoundary: holds = atBoundary
                    case .notWordBoundary: holds = !atBoundary
                    case .end:
                        if endState < 0 { endState = endHolds() ? 1 : 0 }
                        holds = endState == 1
                    }
                    if holds { follow = pc + 1 }
                }
                if alsoFollow >= 0 && marks[alsoFollow] != generation {
                    marks[alsoFollow] = generation
                    stack[depth] = Int32(alsoFollow)
                    depth += 1
                }
                if follow >= 0 && marks[follow] != generation {
                    marks[follow] = generation
                    stack[depth] = Int32(follow)
                    depth += 1
                }
            }
            return false
        }

        if usesWordBoundary { atBoundary = boundary() }
        if add(0, generation: 1, to: current, count: &currentCount) {
            return Outcome(matched: true, steps: steps)
        }
        while index < end {
            if anchoredAtStart && currentCount == 0 { break }
            if steps > stepBudget { return Outcome(matched: false, steps: steps, exhausted: true) }
            let c = scalars[index]
            let v = c.value
            bytes += v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x1_0000 ? 3 : 4
            if bytes > maxUTF8Bytes { break }

            // Enter the next position: its assertions see the scalar just consumed.
            index = scalars.index(after: index)
            position += 1
            previous = c
            if usesWordBoundary {
                if !RegexUnicode.isBoundaryTransparent(c) { previousIsWord = RegexUnicode.isWord(c) }
                atBoundary = boundary()
            }
            endState = -1
            let generation = position + 1

            nextCount = 0
            for k in 0..<currentCount {
                let pc = Int(current[k])
                steps += 1
                let consumes: Bool
                switch code[pc] {
                case .scalar(let expected): consumes = expected == c
                case .set(let i):
                    if v < 64 {
                        consumes = ascii[2 * i] & (1 << UInt64(v)) != 0
                    } else if v < 128 {
                        consumes = ascii[2 * i + 1] & (1 << UInt64(v - 64)) != 0
                    } else if memoGeneration[i] == generation {
                        consumes = memoAnswer[i] != 0
                    } else {
                        consumes = sets[i].slowContains(c)
                        memoGeneration[i] = generation
                        memoAnswer[i] = consumes ? 1 : 0
                    }
                default: consumes = false
                }
                if consumes && add(pc + 1, generation: generation, to: next, count: &nextCount) {
                    return Outcome(matched: true, steps: steps)
                }
            }
            swap(&current, &next)
            currentCount = nextCount
            if !anchoredAtStart && add(0, generation: generation, to: current, count: &currentCount) {
                return Outcome(matched: true, steps: steps)
            }
        }
        return Outcome(matched: false, steps: steps)
    }
}
