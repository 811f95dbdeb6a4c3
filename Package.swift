// swift-tools-version:6.3
// The package as ../shared/DESIGN.md lays it out: thin system-library targets over C, one library target per
// concern, and an executable that only dispatches. Release builds are made with `--static-swift-stdlib`
// (helpers/install, helpers/demo, helpers/bench) because start-up time of the credential helper is a feature.
// Linux only: SystemSupport binds glibc, the lazy mount libfuse3 and the kubelet plugin runs on Linux nodes.
import PackageDescription

let package = Package(
    name: "ocicred",
    products: [
        .executable(name: "ocicred", targets: ["ocicred"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The refresh sidecar's /healthz, /readyz and /metrics: an HTTP server and the Prometheus text format
        // from well-kept libraries rather than hand-written parsers (the issue asks for exactly that).
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CCrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // No pkgConfig: that would add -lcurl and make every run load libcurl and its dozen dependencies.
        // Transport dlopen()s libcurl on the first network request; the headers come from the default path.
        .systemLibrary(
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // libssl for the admission webhook's TLS server and certificates (DESIGN.md, "Serving TLS"): OpenSSL's own,
        // the stack libcrypto already is, instead of a BoringSSL build. Imported by Webhook only; a release build
        // links its static archive, so the credential helper loads nothing new.
        .systemLibrary(
            name: "CSSL",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // No pkg-config for the system libraries: SwiftPM would put -L/usr/lib/<multiarch> ahead of everything and
        // helpers/build-release could not pick their static archives; the Debian paths need no flags anyway.
        // The lazy mount's filesystem (libfuse3's low-level API) and zstd layers, which have no random access.
        .systemLibrary(
            name: "CFuse",
            providers: [.apt(["libfuse3-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // The machine, once: the one file reader and atomic writer, locks, errno, the environment, JSON, RFC 3339.
        .target(name: "SystemSupport"),
        .target(name: "Crypto", dependencies: ["SystemSupport", "CCrypto"]),
        .target(name: "Transport", dependencies: ["SystemSupport", "CCurl"]),
        .target(
            name: "Credentials",
            dependencies: [
                "SystemSupport", "Crypto", .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "Providers",
            dependencies: [
                "SystemSupport", "Credentials", "Transport", "Crypto", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Registry",
            dependencies: [
                "SystemSupport", "Crypto", "Credentials", "Transport", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Kubernetes",
            dependencies: [
                "SystemSupport", "Crypto", "Credentials", "Transport", .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "LazyMount",
            dependencies: [
                "CFuse", "CZlib", "CZstd", "SystemSupport", "Crypto", "Credentials", "Registry", "Transport",
                .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "Refresh",
            dependencies: [
                "SystemSupport", "Credentials", "Kubernetes", .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(
            name: "Webhook",
            dependencies: [
                "SystemSupport", "Crypto", "Credentials", "Kubernetes", "Refresh", "CSSL",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Helper",
            dependencies: [
                "SystemSupport", "Credentials", "Providers", .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Commands",
            dependencies: [
                "SystemSupport",
                "Credentials",
                "Providers",
                "Helper",
                "Registry",
                "Kubernetes",
                "Refresh",
                "LazyMount",
                "Transport",
                "Webhook",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "ocicred", dependencies: ["Commands", "Helper", "Crypto", "SystemSupport"]),

        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SystemSupportTests", dependencies: ["SystemSupport"]),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(
            name: "CredentialsTests",
            dependencies: [
                "SystemSupport", "Credentials", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "TransportTests", dependencies: ["SystemSupport", "Transport", "TestSupport"]),
        .testTarget(
            name: "ProvidersTests",
            dependencies: ["SystemSupport", "Providers", "Credentials", "Transport", "Crypto", "TestSupport"]),
        .testTarget(
            name: "RegistryTests",
            dependencies: [
                "SystemSupport", "Registry", "Credentials", "Transport", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "KubernetesTests",
            dependencies: [
                "SystemSupport", "Kubernetes", "Credentials", "Transport", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "RefreshTests",
            dependencies: [
                "Refresh", "Credentials", "Kubernetes", "TestSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        .testTarget(
            name: "LazyMountTests",
            dependencies: [
                "SystemSupport", "LazyMount", "Registry", "Credentials", "Crypto", "Transport", "TestSupport",
            ]),
        .testTarget(
            name: "HelperTests",
            dependencies: [
                "SystemSupport", "Helper", "Credentials", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "IntegrationTests", dependencies: ["TestSupport", "Crypto"]),
    ]
)

// `internal` by default, imports included: a plain `import` is internal, and a file whose `package` declarations
// show another module's types says so with `package import`. Nothing here is public: the only product is the
// executable, and the tests are targets of this package.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [.enableUpcomingFeature("InternalImportsByDefault")]
}
