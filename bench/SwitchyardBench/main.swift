import Foundation
import SwitchyardCore

// Route engine micro-benchmarks (not a test): `swift run -c release SwitchyardBench [routes-dir]`.

let routesDirectory = CommandLine.arguments.dropFirst().first ?? "routes"

func load(_ name: String) -> RouteSource {
    let path = "\(routesDirectory)/\(name)"
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        FileHandle.standardError.write(Data("cannot read \(path); run from the repository root or pass the routes directory\n".utf8))
        exit(1)
    }
    return RouteSource(path: path, contents: text)
}

func graph(_ name: String) -> RouteGraph {
    let result = RouteCompiler.compile(load(name))
    guard let g = result.graph else {
        print(result.diagnostics.map(\.description).joined(separator: "\n"))
        exit(1)
    }
    return g
}

/// This thread's CPU time in nanoseconds: unlike wall time it does not count the time other
/// processes (say, compilers on a shared machine) hold the CPU.
func threadCPUTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
}

func measure(_ label: String, iterations: Int, _ body: (Int) -> Void) {
    for i in 0..<min(iterations / 10, 10_000) { body(i) }  // warm up
    let clock = ContinuousClock()
    let cpuStart = threadCPUTime()
    let elapsed = clock.measure {
        for i in 0..<iterations { body(i) }
    }
    let cpu = threadCPUTime() - cpuStart
    let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    print("\(label): \(String(format: "%.0f", ns / Double(iterations))) ns wall, \(String(format: "%.0f", cpu / Double(iterations))) ns CPU per request (\(iterations) iterations)")
}

let support = graph("customer-support.yaml")
let canary = graph("canary.yaml")
let limits = InMemoryLimitStore()
var sink = 0

let paid = RequestFacts(metadata: ["plan": .string("paid"), "org_id": .string("acme")], model: "dynamic/customer-support",
                        estimatedInputTokens: 200, estimatedOutputTokens: 1024)
measure("customer-support, paid plan to its first attempt (condition + budget reservation)", iterations: 1_000_000) { i in
    var run = RouteRun(graph: support)
    var rng = SplitMix64(seed: UInt64(i))
    // A new day every 1000 requests keeps the budget from running out mid-benchmark.
    if case .attempt(let a) = run.start(facts: paid, limits: limits, now: Double(i / 1000) * 86_400, rng: &rng) { sink &+= a.step }
}

let free = RequestFacts(metadata: ["plan": .string("free"), "user_id": .string("u-1")], model: "dynamic/customer-support")
measure("customer-support, free plan to its first attempt (condition + rate limit + sticky split)", iterations: 1_000_000) { i in
    var run = RouteRun(graph: support)
    var rng = SplitMix64(seed: UInt64(i))
    if case .attempt(let a) = run.start(facts: free, limits: limits, now: Double(i / 100) * 3_600, rng: &rng) { sink &+= a.step }
}

let user = RequestFacts(metadata: ["user_id": .string("user-42")])
measure("canary, sticky split to its first attempt", iterations: 1_000_000) { i in
    var run = RouteRun(graph: canary)
    var rng = SplitMix64(seed: UInt64(i))
    if case .attempt(let a) = run.start(facts: user, limits: limits, now: 0, rng: &rng) { sink &+= a.step }
}

// Compiling 1,000 generated routes (variations of customer-support) as one directory.
let template = load("customer-support.yaml").contents
let sources = (0..<1000).map { i in
    RouteSource(path: "routes/generated-\(i).yaml", contents: template
        .replacingOccurrences(of: "name: customer-support", with: "name: generated-\(i)")
        .replacingOccurrences(of: "limit: 100,", with: "limit: \(100 + i),"))
}
let clock = ContinuousClock()
var compiled = 0
let compileCPUStart = threadCPUTime()
let elapsed = clock.measure {
    compiled = RouteCompiler.compile(sources).graphs.count
}
let compileCPU = (threadCPUTime() - compileCPUStart) / 1e9
print("compile \(sources.count) routes: \(elapsed) wall, \(String(format: "%.3f", compileCPU)) s CPU (\(compiled) compiled)")
if sink == -1 { print(sink) }
