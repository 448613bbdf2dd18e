// swift-tools-version:6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let log = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
let lifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let coreMetrics = Target.Dependency.product(name: "CoreMetrics", package: "swift-metrics")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")

/// A service executable: `services/<dir>/main.swift`, wiring its handler library to ServiceKit.
func serviceExecutable(_ name: String, library: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: [.target(name: library), "ServiceKit", lifecycle, log, argumentParser],
        path: "services/\(name)",
        exclude: ["README.md"],
        swiftSettings: strictSettings
    )
}

let package = Package(
    name: "nexus-crm",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RedisClient", targets: ["RedisClient"]),
        .library(name: "Contracts", targets: ["Contracts"]),
        .library(name: "CrmCore", targets: ["CrmCore"]),
        .library(name: "CrmKit", targets: ["CrmKit"]),
        .executable(name: "crmctl", targets: ["crmctl"]),
        .executable(name: "pipeline-service", targets: ["pipeline-service"]),
        .executable(name: "assignment-service", targets: ["assignment-service"]),
        .executable(name: "sla-timer-service", targets: ["sla-timer-service"]),
        .executable(name: "integration-service", targets: ["integration-service"]),
        .executable(name: "crm-plugin-sandbox", targets: ["crm-plugin-sandbox"]),
        .executable(name: "audit-service", targets: ["audit-service"]),
        .executable(name: "gateway", targets: ["gateway"]),
        .executable(name: "crm-microbench", targets: ["crm-microbench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(name: "RedisClient", dependencies: ["CHiredis", log, crypto], swiftSettings: strictSettings),
        .target(name: "Contracts", dependencies: ["CrmCore"], swiftSettings: strictSettings),
        .target(name: "CrmCore", swiftSettings: strictSettings),
        .target(name: "CrmRedis", dependencies: ["RedisClient", "Contracts", "CrmCore", crypto, log], swiftSettings: strictSettings),
        .target(
            name: "ServiceKit",
            dependencies: ["RedisClient", "Contracts", "CrmRedis", log, metrics, coreMetrics, prometheus, lifecycle, unixSignals, argumentParser,
                           .product(name: "Hummingbird", package: "hummingbird"), .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .target(name: "CrmKit", dependencies: ["RedisClient", "Contracts", "CrmCore", "CrmRedis", "PipelineService", "AssignmentService", log],
                swiftSettings: strictSettings),
        .target(name: "PipelineService", dependencies: ["ServiceKit", "CrmRedis", "CrmCore", "Contracts", "RedisClient", log], swiftSettings: strictSettings),
        .target(name: "AuditService", dependencies: ["ServiceKit", "CrmRedis", "Contracts", "RedisClient", log, crypto, argumentParser, lifecycle], swiftSettings: strictSettings),
        .target(name: "AssignmentService", dependencies: ["ServiceKit", "Contracts", "CrmCore", "CrmRedis", log], swiftSettings: strictSettings),
        .target(name: "SlaTimerService", dependencies: ["ServiceKit", "Contracts", "CrmCore", "CrmRedis", "RedisClient", log, lifecycle, argumentParser], swiftSettings: strictSettings),
        .target(name: "IntegrationService", dependencies: ["ServiceKit", "Contracts", "CrmRedis", "CrmCore", "RedisClient", log, metrics, crypto, lifecycle, argumentParser],
                swiftSettings: strictSettings),
        .executableTarget(
            name: "crmctl",
            dependencies: ["CrmKit", "CrmRedis", "CrmCore", "Contracts", "RedisClient", argumentParser, crypto],
            swiftSettings: strictSettings
        ),
        serviceExecutable("pipeline-service", library: "PipelineService"),
        serviceExecutable("assignment-service", library: "AssignmentService"),
        serviceExecutable("sla-timer-service", library: "SlaTimerService"),
        serviceExecutable("integration-service", library: "IntegrationService"),
        .executableTarget(name: "crm-plugin-sandbox", swiftSettings: strictSettings),
        serviceExecutable("audit-service", library: "AuditService"),
        .target(
            name: "GatewayService",
            dependencies: [
                "ServiceKit", "CrmKit", "CrmRedis", "CrmCore", "Contracts", "RedisClient", log, prometheus,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strictSettings
        ),
        serviceExecutable("gateway", library: "GatewayService"),
        // The hot paths timed in-process (make microbench); a plain harness keeps the package's build light.
        .executableTarget(name: "crm-microbench", dependencies: ["Contracts", "CrmCore", "RedisClient"], swiftSettings: strictSettings),

        .target(name: "TestSupport", dependencies: ["RedisClient"], path: "Tests/TestSupport", swiftSettings: strictSettings),
        .testTarget(name: "RedisClientTests", dependencies: ["RedisClient", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "ContractsTests", dependencies: ["Contracts"], swiftSettings: strictSettings),
        .testTarget(name: "CrmCoreTests", dependencies: ["CrmCore"], swiftSettings: strictSettings),
        .testTarget(name: "CrmRedisTests", dependencies: ["CrmRedis", "Contracts", crypto], swiftSettings: strictSettings),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: ["ServiceKit", "PipelineService", "AuditService", "AssignmentService", "SlaTimerService", "IntegrationService", "CrmRedis", "Contracts", "RedisClient", "TestSupport", log],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GatewayServiceTests",
            dependencies: [
                "GatewayService", "CrmKit", "CrmRedis", "Contracts", "RedisClient", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                prometheus,
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["Contracts", "RedisClient", "CrmKit", "CrmCore", "CrmRedis", "TestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
