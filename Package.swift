// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

/// A product from the shared dependency list.
extension Target.Dependency {
    static let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
    static let hummingbirdTesting = Target.Dependency.product(name: "HummingbirdTesting", package: "hummingbird")
    static let serviceLifecycle = Target.Dependency.product(
        name: "ServiceLifecycle", package: "swift-service-lifecycle")
    static let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
    static let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
    static let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")
    static let prometheus = Target.Dependency.product(name: "Prometheus", package: "swift-prometheus")
    static let asyncHTTPClient = Target.Dependency.product(name: "AsyncHTTPClient", package: "async-http-client")
    static let grdb = Target.Dependency.product(name: "GRDB", package: "GRDB.swift")
    static let bcrypt = Target.Dependency.product(name: "HummingbirdBcrypt", package: "hummingbird-auth")
    static let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
    static let httpTypes = Target.Dependency.product(name: "HTTPTypes", package: "swift-http-types")
    static let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
    static let dequeModule = Target.Dependency.product(name: "DequeModule", package: "swift-collections")
}

/// One of the four services: an executable on top of the shared libraries.
func serviceTarget(
    name: String,
    path: String,
    dependencies: [Target.Dependency] = [],
    exclude: [String] = [],
    resources: [Resource]? = nil
) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "AMQPClient", "MostradorContracts", "MostradorMessaging", "MostradorServiceKit", "MostradorTracing",
            .hummingbird, .serviceLifecycle, .argumentParser, .logging, .httpTypes,
        ] + dependencies,
        path: path,
        exclude: exclude,
        resources: resources,
        swiftSettings: swiftSettings
    )
}

let package = Package(
    name: "mostrador",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mostrador-api", targets: ["MostradorAPI"]),
        .executable(name: "mostrador-bridge-relay", targets: ["MostradorBridgeRelay"]),
        .executable(name: "mostrador-notifier", targets: ["MostradorNotifier"]),
        .executable(name: "mostrador-classifier", targets: ["MostradorClassifier"]),
        .executable(name: "mostrador-bench", targets: ["MostradorBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // rabbitmq-c 0.11 from Debian's librabbitmq-dev, with a shim for what Swift cannot call.
        .systemLibrary(
            name: "CRabbitMQ",
            path: "Shared/CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .target(
            name: "AMQPClient",
            dependencies: ["CRabbitMQ", .logging, .metrics, .dequeModule, .serviceLifecycle],
            path: "Shared/AMQPClient",
            swiftSettings: swiftSettings
        ),
        // W3C trace context, carried through HTTP, the outbox and AMQP headers (no dependencies).
        .target(name: "MostradorTracing", path: "Shared/Tracing", swiftSettings: swiftSettings),
        .target(
            name: "MostradorContracts",
            dependencies: [.crypto],
            path: "Shared/Contracts",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MostradorMessaging",
            dependencies: [
                "AMQPClient", "MostradorContracts", "MostradorTracing", .logging, .metrics, .serviceLifecycle,
            ],
            path: "Shared/Messaging",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MostradorStorage",
            dependencies: ["MostradorTracing", .grdb, .logging, .serviceLifecycle],
            path: "Shared/Storage",
            swiftSettings: swiftSettings
        ),
        // The api's database: SQLite through GRDB or PostgreSQL through postgres-nio, behind one set of calls.
        .target(
            name: "MostradorSQL",
            dependencies: [
                "MostradorStorage", .grdb, .logging, .nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Shared/SQL",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MostradorServiceKit",
            dependencies: [
                "AMQPClient", "MostradorMessaging", "MostradorTracing", .hummingbird, .serviceLifecycle,
                .argumentParser, .logging, .metrics,
                .prometheus, .nioCore, .asyncHTTPClient,
            ],
            path: "Shared/ServiceKit",
            swiftSettings: swiftSettings
        ),
        serviceTarget(
            name: "MostradorAPI",
            path: "Services/api",
            dependencies: [
                "MostradorSQL", "MostradorStorage", .bcrypt, .crypto, .nioCore, .asyncHTTPClient,
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ],
            resources: [.copy("Resources"), .copy("Public")]
        ),
        serviceTarget(
            name: "MostradorBridgeRelay",
            path: "Services/bridge-relay",
            dependencies: ["MostradorStorage", .grdb, .asyncHTTPClient, .nioCore, .metrics]
        ),
        serviceTarget(
            name: "MostradorNotifier", path: "Services/notifier", resources: [.copy("Resources/plantillas.json")]),
        serviceTarget(
            name: "MostradorClassifier",
            path: "Services/classifier",
            dependencies: [.asyncHTTPClient, .nioCore],
            exclude: ["Corpus/validate.py"],
            resources: [.copy("Corpus/corpus.jsonl")]
        ),
        .executableTarget(
            name: "MostradorBench",
            dependencies: [
                "AMQPClient", "CRabbitMQ", "MostradorContracts", "MostradorMessaging", "MostradorStorage",
                .argumentParser, .logging, .hummingbird, .httpTypes, .grdb,
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            path: "Tests/Bench",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "AMQPClient", "MostradorSQL", .logging, .asyncHTTPClient, .nioCore, .hummingbird, .httpTypes, .crypto,
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AMQPClientTests",
            dependencies: ["AMQPClient", "MostradorContracts", "MostradorMessaging", "TestSupport"],
            path: "Tests/AMQPClientTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LiveChatTests",
            dependencies: [
                "MostradorAPI", "MostradorBridgeRelay", "MostradorSQL", "MostradorContracts", "MostradorNotifier",
                "TestSupport",
                .hummingbird, .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            path: "Tests/LiveChatTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClassifierTests",
            dependencies: [
                "MostradorClassifier", "MostradorContracts", "MostradorServiceKit", "TestSupport", .hummingbird,
                .asyncHTTPClient,
            ],
            path: "Tests/ClassifierTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntakeTests",
            dependencies: ["MostradorAPI", "MostradorClassifier", "MostradorContracts", "TestSupport"],
            path: "Tests/IntakeTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChatTests",
            dependencies: [
                "TestSupport", .hummingbird, .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            path: "Tests/ChatTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APITests",
            dependencies: [
                "MostradorAPI", "MostradorContracts", "MostradorSQL", "MostradorStorage", "TestSupport", .hummingbird,
                .hummingbirdTesting,
                .httpTypes, .nioCore, .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            ],
            path: "Tests/APITests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "AMQPClient", "MostradorContracts", "MostradorMessaging", "MostradorServiceKit", "MostradorTracing",
                "TestSupport", .asyncHTTPClient, .prometheus,
            ],
            path: "Tests/ServiceTests",
            swiftSettings: swiftSettings
        ),
    ]
)
