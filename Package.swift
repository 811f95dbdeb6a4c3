// swift-tools-version:6.0
// The package as ../shared/DESIGN.md lays it out: thin system-library targets over C, one library target per
// concern, and an executable that only dispatches. Release builds are made with `--static-swift-stdlib`
// (helpers/install, helpers/demo, helpers/bench) because start-up time of the credential helper is a feature.
import PackageDescription

let package = Package(
    name: "ocicred",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ocicred", targets: ["ocicred"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "Crypto", dependencies: ["CCrypto"]),
        .target(
            name: "Credentials",
            dependencies: ["Crypto", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Commands",
            dependencies: [
                "Credentials",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "ocicred", dependencies: ["Commands"]),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(name: "CredentialsTests", dependencies: ["Credentials", "TestSupport"]),
        .testTarget(name: "CommandsTests", dependencies: ["Commands", "Credentials", "TestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport"]),
    ]
)
