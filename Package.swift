// swift-tools-version:6.1
import PackageDescription

// Layers, one direction: Core <- Providers / Storage <- Server <- CLI.
// SwitchyardCore has no networking and no file I/O (Yams parses in-memory text).
let package = Package(
    name: "switchyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchyard", targets: ["SwitchyardCLI"]),
        .executable(name: "fake-upstream", targets: ["FakeUpstreamCLI"]),
        .library(name: "SwitchyardCore", targets: ["SwitchyardCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        // Tracing: OTLP/HTTP only; the gRPC trait would pull grpc-swift into every build.
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.0"),
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // 1. Pure core: route DSL, compiler, diagnostics, frozen graph, evaluator, limit state
        //    machines, pricing. No NIO, no HTTP, no file or socket I/O.
        .target(
            name: "SwitchyardCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // 2. Provider adapters: wire formats and translation over AsyncHTTPClient.
        .target(
            name: "SwitchyardProviders",
            dependencies: [
                "SwitchyardCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        // 3. Persistence (limit state, request logs) behind core protocols.
        .target(
            name: "SwitchyardStorage",
            dependencies: [
                "SwitchyardCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // 4. Thin HTTP front: authenticate, decode, hand over, encode or stream.
        .target(
            name: "SwitchyardServer",
            dependencies: [
                "SwitchyardCore", "SwitchyardProviders", "SwitchyardStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ]
        ),
        // 5. The fake provider: speaks the providers' real wire formats with fault knobs.
        //    Used by tests, the benchmark and `switchyard serve --demo` (wired by the CLI: the
        //    server itself never links it).
        .target(
            name: "SwitchyardFakeUpstream",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // 6. Executables: only parse and wire.
        .executableTarget(
            name: "SwitchyardCLI",
            dependencies: [
                "SwitchyardCore", "SwitchyardServer", "SwitchyardStorage", "SwitchyardProviders", "SwitchyardFakeUpstream",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "FakeUpstreamCLI",
            dependencies: [
                "SwitchyardFakeUpstream",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Route engine benchmark: `swift run -c release SwitchyardBench`.
        .executableTarget(name: "SwitchyardBench", dependencies: ["SwitchyardCore"], path: "bench/SwitchyardBench"),
        // The benchmark's framework floor: Hummingbird + AsyncHTTPClient forwarding, nothing else.
        .executableTarget(
            name: "BaselineProxy",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "bench/BaselineProxy"
        ),
        // Test support: injected clocks and seeded randomness.
        .target(name: "SwitchyardTestSupport", dependencies: ["SwitchyardCore"]),
        .testTarget(
            name: "SwitchyardCoreTests",
            dependencies: ["SwitchyardCore", "SwitchyardTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "SwitchyardProvidersTests", dependencies: ["SwitchyardProviders", "SwitchyardCore"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "SwitchyardFakeUpstreamTests",
            dependencies: [
                "SwitchyardFakeUpstream",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "SwitchyardStorageTests",
            dependencies: ["SwitchyardStorage", "SwitchyardCore", "SwitchyardTestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "SwitchyardServerTests",
            dependencies: [
                "SwitchyardServer", "SwitchyardStorage", "SwitchyardFakeUpstream", "SwitchyardTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
