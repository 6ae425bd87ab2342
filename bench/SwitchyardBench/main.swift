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

func measure(_ label: String, iterations: Int, per unit: String = "request", _ body: (Int) -> Void) {
    for i in 0..<min(iterations / 10, 10_000) { body(i) }  // warm up
    let clock = ContinuousClock()
    let cpuStart = threadCPUTime()
    let elapsed = clock.measure {
        for i in 0..<iterations { body(i) }
    }
    let cpu = threadCPUTime() - cpuStart
    let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    print("\(label): \(String(format: "%.0f", ns / Double(iterations))) ns wall, \(String(format: "%.0f", cpu / Double(iterations))) ns CPU per \(unit) (\(iterations) iterations)")
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

// A model node with a circuit breaker and max_concurrency: the gate is asked (one lock, one
// dictionary lookup) and the attempt's end reported, as the server does per request.
let guarded = RouteCompiler.compile(RouteSource(path: "guarded.yaml", contents: """
    nodes:
      tier:
        if: metadata.plan == "paid"
        then: main
        else: main
      main:
        model: openai/gpt-5.2
        breaker: { failures: 5, within: 30s, cooldown: 60s }
        max_concurrency: 1000
        fallback: openai/gpt-5-mini
    """)).graph!
let health = TargetHealth()
measure("breaker + max_concurrency node to its first attempt, outcome reported", iterations: 1_000_000) { i in
    var run = RouteRun(graph: guarded)
    var rng = SplitMix64(seed: UInt64(i))
    if case .attempt(let a) = run.start(facts: paid, limits: limits, now: Double(i) * 0.001, rng: &rng, gate: health), let key = a.gateKey {
        health.finished(key, report: .served, now: Double(i) * 0.001)
        sink &+= a.step
    }
}

// A pick node (by latency, figures live) in front of a breaker-guarded arm: the pick's choice
// (two draws, one lock, one dictionary lookup), the gate, and both outcomes reported, as the
// server does per request.
let picked = RouteCompiler.compile(RouteSource(path: "picked.yaml", contents: """
    nodes:
      fastest:
        pick: [main, other]
        by: latency
      main:
        model: openai/gpt-5.2
        breaker: { failures: 5, within: 30s, cooldown: 60s }
        fallback: other
      other:
        model: anthropic/claude-sonnet-4-5
    """)).graph!
let pickStats = PickStats()
let pickHealth = TargetHealth()
measure("pick (by latency) + breaker node to its first attempt, outcomes reported", iterations: 1_000_000) { i in
    var run = RouteRun(graph: picked, pickStats: pickStats)
    var rng = SplitMix64(seed: UInt64(i))
    let now = Double(i) * 0.001
    if case .attempt(let a) = run.start(facts: paid, limits: limits, now: now, rng: &rng, gate: pickHealth) {
        if let key = a.gateKey { pickHealth.finished(key, report: .served, now: now) }
        let latency = a.nodeName == "main" ? 0.4 : 0.9
        for choice in run.picks {
            pickStats.record(choice, outcome: PickOutcome(step: a.step, success: true, duration: latency, timeToFirstByte: nil, cost: 0), now: now)
        }
        sink &+= a.step
    }
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

// JSON: the byte-level parser and writer against the Foundation coders they replaced, same run.
let chatRequest = #"{"model":"openai/gpt-5.2","messages":[{"role":"system","content":"You are a helpful support agent for Acme."},{"role":"user","content":"My invoice #4521 shows two charges for March. Can you help?"}],"temperature":0.7,"max_tokens":512,"stream":false,"metadata":{"plan":"paid","org_id":"acme"}}"#
// The answer as JSON string content, escapes included.
let answer = #"Thanks for reaching out! I looked at invoice #4521: the second March charge is a pre-authorisation that will drop off within 3\u20135 business days.\n\n"# + String(repeating: #"If it is still there after that, reply here with the last four digits of the card and we will open a refund \"right away\". "#, count: 11)
let chatResponse = #"{"id":"chatcmpl-9xYz","object":"chat.completion","created":1767225600,"model":"gpt-5.2-2025-12-11","choices":[{"index":0,"message":{"role":"assistant","content":"\#(answer)","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":58,"completion_tokens":412,"total_tokens":470,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_3f2e1d"}"#
let foundationEncoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return e
}()
for (name, text) in [("a \(chatRequest.utf8.count)-byte chat request", chatRequest), ("a \(chatResponse.utf8.count)-byte chat response", chatResponse)] {
    let data = Data(text.utf8)
    let value = try! JSONValue.parse(data)
    guard value == (try! JSONDecoder().decode(JSONValue.self, from: data)),
          value.canonicalJSON == String(decoding: try! foundationEncoder.encode(value), as: UTF8.self) else {
        print("JSON: the parser or writer disagrees with Foundation on \(name)")
        exit(1)
    }
    let n = 200_000
    measure("JSON: parse \(name), JSONValue.parse", iterations: n, per: "parse") { _ in
        if case .object(let o) = try! JSONValue.parse(data) { sink &+= o.count }
    }
    measure("JSON: parse \(name), Foundation JSONDecoder", iterations: n / 4, per: "parse") { _ in
        if case .object(let o) = try! JSONDecoder().decode(JSONValue.self, from: data) { sink &+= o.count }
    }
    measure("JSON: write \(name), canonicalJSON", iterations: n, per: "write") { _ in
        sink &+= value.canonicalJSON.utf8.count
    }
    measure("JSON: write \(name), Foundation JSONEncoder(.sortedKeys)", iterations: n / 4, per: "write") { _ in
        sink &+= try! foundationEncoder.encode(value).count
    }
}

if sink == -1 { print(sink) }
