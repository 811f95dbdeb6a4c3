package import Foundation

/// Locates the `ocicred` executable that `swift build`/`swift test` built, and a
/// `docker-credential-ocicred` link to it, so tests exercise the real binary exactly as podman does.
package enum OcicredBinary {
    /// `OCICRED_BIN` when set (.ci/run points it at the release build), else the `ocicred` built beside the test
    /// bundle. Never an `ocicred` found on PATH: a stale installed binary must not stand in for the one under
    /// test, so a missing build stops the run with a message instead.
    package static let path: String = {
        if let explicit = ProcessInfo.processInfo.environment["OCICRED_BIN"], !explicit.isEmpty {
            precondition(
                FileManager.default.isExecutableFile(atPath: explicit), "OCICRED_BIN=\(explicit) is not an executable")
            return explicit
        }
        // The test bundle lives in the build products directory, beside the executable it was built with.
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        let candidate = bundleDirectory.appendingPathComponent("ocicred").path
        precondition(
            FileManager.default.isExecutableFile(atPath: candidate),
            "no ocicred beside the test bundle (\(candidate)): run `swift build --build-tests`, or set OCICRED_BIN")
        return candidate
    }()

    /// Creates `dir/docker-credential-ocicred` → the binary, the way helpers/install links it, and returns `dir`.
    @discardableResult
    package static func linkHelper(into dir: String) throws -> String {
        let link = dir + "/docker-credential-ocicred"
        try? FileManager.default.removeItem(atPath: link)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        return dir
    }

    /// A minimal environment that points every ocicred path (store, key, config, ambient auth files) into
    /// `home`, so a test never reads or writes the developer's real credentials.
    package static func environment(home: String, extra: [String: String] = [:]) -> [String: String] {
        var env: [String: String] = [
            "HOME": home,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "XDG_DATA_HOME": home + "/.local/share",
            "XDG_CONFIG_HOME": home + "/.config",
            "XDG_RUNTIME_DIR": home + "/run",
            "DOCKER_CONFIG": home + "/.docker",
            // Only loopback, ever: every cloud metadata endpoint points at a closed loopback port unless a test
            // starts its own fixture there, so no code path can fall through to 169.254.169.254 or a real host.
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9", "GCE_METADATA_HOST": "127.0.0.1:9",
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:9",
        ]
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// Creates `home` and returns the extra environment that keeps registry settings in it as well: an empty
    /// registries.conf and drop-in directory, certs.d, and the cache (indexes, chunks) — so commands that talk
    /// to a registry never read the machine's own containers configuration.
    package static func registryEnvironment(home: String) throws -> [String: String] {
        try FileManager.default.createDirectory(atPath: home + "/registries.conf.d", withIntermediateDirectories: true)
        return [
            "CONTAINERS_REGISTRIES_CONF": home + "/registries.conf",
            "OCICRED_REGISTRIES_CONF_DIR": home + "/registries.conf.d",
            "OCICRED_CERTS_DIRS": home + "/certs.d", "XDG_CACHE_HOME": home + "/.cache",
        ]
    }

    /// Runs `ocicred` with `arguments`, or as `docker-credential-ocicred ACTION` when `asHelper` is set.
    @discardableResult
    package static func run(
        _ arguments: [String], home: String, stdin: String = "", extraEnvironment: [String: String] = [:],
        timeout: Double = 60
    ) throws -> ProcessResult {
        try ProcessRunner.run(
            path, arguments, environment: environment(home: home, extra: extraEnvironment),
            stdin: Data(stdin.utf8), timeout: timeout)
    }

    /// Runs the helper through the `docker-credential-ocicred` link (argv[0] dispatch), as podman would.
    @discardableResult
    package static func helper(
        _ action: String, home: String, stdin: Data, extraEnvironment: [String: String] = [:], timeout: Double = 60
    ) throws -> ProcessResult {
        let bin = home + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: bin + "/docker-credential-ocicred") { try linkHelper(into: bin) }
        return try ProcessRunner.run(
            bin + "/docker-credential-ocicred", [action],
            environment: environment(home: home, extra: extraEnvironment), stdin: stdin, timeout: timeout)
    }
}
