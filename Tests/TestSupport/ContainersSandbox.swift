package import Foundation

/// A private world for podman, buildah and skopeo: its own HOME and XDG dirs (so the ocicred store and key land
/// in it), containers storage, engine state, registries.conf and auth file (`REGISTRY_AUTH_FILE`), and a PATH
/// whose first entry holds the `docker-credential-ocicred` link to the binary under test.
/// Nothing of the real user's (HOME, store, images) is read or written. Call `remove()` in a `defer`.
package final class ContainersSandbox: @unchecked Sendable {
    package let directory: TemporaryDirectory
    package let home: String
    package let binDirectory: String
    /// The auth file podman writes: `REGISTRY_AUTH_FILE`, or with `registryAuthFile: false` podman's own default
    /// in the sandbox, `$XDG_RUNTIME_DIR/containers/auth.json`.
    package let authFile: String
    /// The environment every command of the sandbox runs with (no variable of the test process leaks in). A test
    /// may change it before running commands, to see what podman and ocicred do with other variables.
    package var environment: [String: String]

    /// The helper's default store, `$XDG_DATA_HOME/ocicred`.
    package var storeDirectory: String { home + "/.local/share/ocicred" }
    /// The helper's default key file, `$XDG_CONFIG_HOME/ocicred/key`.
    package var keyFile: String { home + "/.config/ocicred/key" }

    /// The programs the sandbox drives, with the Debian package that has each.
    package static let requiredPrograms: KeyValuePairs<String, String> = [
        "podman": "podman", "buildah": "buildah", "skopeo": "skopeo",
    ]

    /// Creates the sandbox with an auth file whose `credHelpers` sends each of `credHelpers`' hosts to the named
    /// helper (`"127.0.0.1:5000": "ocicred"` → `docker-credential-ocicred`), and `registriesConf` as the only
    /// registries.conf (`CONTAINERS_REGISTRIES_CONF`).
    ///
    /// With `registryAuthFile: false` neither REGISTRY_AUTH_FILE nor DOCKER_CONFIG is set and no auth file is
    /// written (`credHelpers` must be empty): podman then uses its default, as after a user's fresh login.
    package init(
        credHelpers: [String: String], registriesConf: String = "unqualified-search-registries = []\n",
        registryAuthFile: Bool = true
    ) throws {
        precondition(registryAuthFile || credHelpers.isEmpty, "credHelpers need the sandbox's REGISTRY_AUTH_FILE")
        try FixtureError.requirePrograms(Self.requiredPrograms)
        directory = try TemporaryDirectory(prefix: "ocicred-containers")
        let root = Self.normalized(directory.path)
        home = root + "/home"
        binDirectory = root + "/bin"
        authFile = registryAuthFile ? root + "/auth.json" : home + "/run/containers/auth.json"
        let fileManager = FileManager.default
        for dir in [
            binDirectory, home + "/.local/share", home + "/.config", home + "/.cache", root + "/tmp",
            root + "/storage/root", root + "/storage/run", root + "/cni",
        ] {
            try fileManager.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try fileManager.createDirectory(
            atPath: home + "/run", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try OcicredBinary.linkHelper(into: binDirectory)

        try """
        [storage]
        driver = "overlay"
        graphroot = "\(root)/storage/root"
        runroot = "\(root)/storage/run"

        """.write(toFile: root + "/storage.conf", atomically: true, encoding: .utf8)
        try """
        [engine]
        tmp_dir = "\(root)/storage/tmp"
        static_dir = "\(root)/storage/root/libpod"
        volume_path = "\(root)/storage/root/volumes"

        [network]
        network_config_dir = "\(root)/cni"

        """.write(toFile: root + "/containers.conf", atomically: true, encoding: .utf8)
        try registriesConf.write(
            toFile: root + "/registries.conf", atomically: true, encoding: .utf8)
        if registryAuthFile {
            let authJSON = try JSONSerialization.data(
                withJSONObject: ["credHelpers": credHelpers], options: [.prettyPrinted, .sortedKeys])
            try authJSON.write(to: URL(fileURLWithPath: authFile))
        }

        var extra = [
            "PATH": binDirectory + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "TMPDIR": root + "/tmp",
            "XDG_CACHE_HOME": home + "/.cache",
            "CONTAINERS_STORAGE_CONF": root + "/storage.conf",
            "CONTAINERS_CONF": root + "/containers.conf",
            "CONTAINERS_REGISTRIES_CONF": root + "/registries.conf",
        ]
        if registryAuthFile { extra["REGISTRY_AUTH_FILE"] = authFile }
        // helpers/test marks every process of its run so its trap can stop anything a crashed test left behind.
        if let session = ProcessInfo.processInfo.environment["OCICRED_TEST_SESSION"] {
            extra["OCICRED_TEST_SESSION"] = session
        }
        environment = OcicredBinary.environment(home: home, extra: extra)
        if !registryAuthFile { environment["DOCKER_CONFIG"] = nil }
    }

    /// The path as the kernel spells it in /proc/mounts (NSTemporaryDirectory() ends in "/", so paths built on it
    /// hold "//").
    private static func normalized(_ path: String) -> String {
        var path = path
        while path.contains("//") { path = path.replacingOccurrences(of: "//", with: "/") }
        return path
    }

    /// The registries.conf.d snippet the repository ships for podman (helpers/containers), as a user installs it.
    package static var helperSnippet: URL {
        URL(fileURLWithPath: RenderedManifests.root).deletingLastPathComponent()
            .appendingPathComponent("helpers/containers/registries.conf.d/50-ocicred.conf")
    }

    /// Points ocicred at a registries.conf.d and a certs.d inside the sandbox (podman keeps the sandbox's own
    /// registries.conf), so a test's TLS and insecure-registry settings reach no file outside it.
    package func useOwnRegistriesAndCertificates() throws {
        try FileManager.default.createDirectory(atPath: home + "/registries.conf.d", withIntermediateDirectories: true)
        environment["OCICRED_REGISTRIES_CONF_DIR"] = home + "/registries.conf.d"
        environment["OCICRED_CERTS_DIRS"] = home + "/certs.d"
    }

    /// Runs `program` (podman, buildah, skopeo, …) in the sandbox, as a user would type it.
    @discardableResult
    package func run(_ program: String, _ arguments: [String], stdin: Data = Data(), timeout: Double = 180) throws
        -> ProcessResult
    {
        try ProcessRunner.run(
            ProcessRunner.resolve(program), arguments, environment: environment, stdin: stdin, timeout: timeout)
    }

    /// Runs `ocicred` (the binary under test) in the sandbox, as a user would type it.
    @discardableResult
    package func ocicred(_ arguments: [String], stdin: Data = Data(), timeout: Double = 60) throws -> ProcessResult {
        try ProcessRunner.run(OcicredBinary.path, arguments, environment: environment, stdin: stdin, timeout: timeout)
    }

    /// Runs `docker-credential-ocicred ACTION` through the link on the sandbox's PATH, as podman does.
    @discardableResult
    package func helper(_ action: String, stdin: String) throws -> ProcessResult {
        try ProcessRunner.run(
            binDirectory + "/docker-credential-ocicred", [action], environment: environment, stdin: Data(stdin.utf8),
            timeout: 60)
    }

    /// `buildah from scratch` + a one-file payload + `commit` into this sandbox's storage, as a CI job builds an
    /// image before pushing it; returns the local name (`localhost/NAME`). Fails the calling test on any step.
    package func commitScratchImage(name: String, content: String = "built by an ocicred test\n") throws -> String {
        let from = try run("buildah", ["from", "scratch"])
        guard from.status == 0 else { throw FixtureError.commandFailed(command: "buildah from scratch", result: from) }
        let container = from.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let file = directory.file("payload.txt")
        try content.write(toFile: file, atomically: true, encoding: .utf8)
        let copy = try run("buildah", ["copy", "--quiet", container, file, "/payload.txt"])
        guard copy.status == 0 else { throw FixtureError.commandFailed(command: "buildah copy", result: copy) }
        let local = "localhost/\(name)"
        let commit = try run("buildah", ["commit", "--quiet", "--rm", container, local])
        guard commit.status == 0 else { throw FixtureError.commandFailed(command: "buildah commit", result: commit) }
        return local
    }

    /// The contents of the auth file podman and buildah read and write.
    package func authFileContents() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: authFile)) }

    /// Removes buildah's containers and images from the private storage, unmounts anything still mounted under
    /// the sandbox, and deletes it.
    package func remove() {
        let root = Self.normalized(directory.path)
        if FileManager.default.fileExists(atPath: root + "/storage/root/overlay-containers") {
            _ = try? ProcessRunner.run("buildah", ["rm", "--all"], environment: environment, timeout: 60)
            _ = try? ProcessRunner.run("buildah", ["rmi", "--all", "--force"], environment: environment, timeout: 60)
        }
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        let leftovers = mounts.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 1, fields[1].hasPrefix(root + "/") else { return nil }
            return String(fields[1])
        }
        for mountPoint in leftovers.sorted(by: >) {
            _ = try? ProcessRunner.run("umount", ["-l", mountPoint], timeout: 30)
        }
        directory.remove()
    }
}
