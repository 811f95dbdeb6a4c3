import Foundation

/// runc driven as a user drives it, with its state under a private `--root` so nothing of the machine's own
/// containers is seen or touched. `remove(_:)` in a `defer` leaves no container behind.
package struct Runc: Sendable {
    package let stateDirectory: String

    package init(in directory: TemporaryDirectory) throws {
        try FixtureError.requirePrograms(["runc": "runc"])
        stateDirectory = directory.file("runc-state")
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
    }

    /// Rewrites a bundle's config.json for this test machine — never something `--bundle` itself writes, and
    /// applied to `umoci unpack`'s bundles alike: runc here refuses the cgroup mount of the hybrid cgroup layout
    /// and the user namespace (issue 14, "On this machine"), and a test has no terminal. `arguments` and `root`
    /// replace the process (the image's own command and user otherwise); `root` runs it as root with the
    /// capabilities to read any file.
    package static func adjust(bundle: String, arguments: [String]? = nil, root: Bool = false) throws {
        let path = bundle + "/config.json"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        guard var spec = try JSONSerialization.jsonObject(with: bytes) as? [String: Any],
            var process = spec["process"] as? [String: Any], var linux = spec["linux"] as? [String: Any]
        else { throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path]) }
        process["terminal"] = false
        if let arguments { process["args"] = arguments }
        if root {
            // Root that may read everything, as in the tree comparisons (the image has 0644 directories).
            process["user"] = ["uid": 0, "gid": 0]
            let capabilities = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER"]
            process["capabilities"] = Dictionary(
                uniqueKeysWithValues: ["bounding", "effective", "inheritable", "permitted", "ambient"].map {
                    ($0, capabilities)
                })
        }
        spec["process"] = process
        spec["mounts"] = (spec["mounts"] as? [[String: Any]] ?? []).filter { ($0["type"] as? String) != "cgroup" }
        linux["namespaces"] = (linux["namespaces"] as? [[String: Any]] ?? []).filter {
            ($0["type"] as? String) != "user"
        }
        linux.removeValue(forKey: "uidMappings")
        linux.removeValue(forKey: "gidMappings")
        spec["linux"] = linux
        try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    /// `runc run --bundle BUNDLE ID` in the foreground; returns what the container printed and its status.
    package func run(bundle: String, id: String, timeout: Double = 120) throws -> ProcessResult {
        defer { remove(id) }
        return try ProcessRunner.run(
            "runc", ["--root", stateDirectory, "run", "--bundle", bundle, id], environment: Self.environment,
            timeout: timeout)
    }

    /// `runc run --detach`: the container keeps running after this returns; its output is discarded.
    package func start(bundle: String, id: String) throws {
        let result = try ProcessRunner.run(
            "/bin/bash",
            [
                "-c",
                "exec runc --root \"$1\" run --detach --bundle \"$2\" \"$3\" </dev/null >/dev/null 2>\"$1/$3.err\"",
                "bash", stateDirectory, bundle, id,
            ], environment: Self.environment, timeout: 60)
        guard result.status == 0 else {
            let log = (try? String(contentsOfFile: "\(stateDirectory)/\(id).err", encoding: .utf8)) ?? ""
            throw FixtureError.commandFailed(
                command: "runc run --detach",
                result: ProcessResult(status: result.status, stdout: result.stdout, stderr: Data(log.utf8)))
        }
    }

    /// Whether container `id` is running.
    package func isRunning(_ id: String) -> Bool {
        let state = try? ProcessRunner.run(
            "runc", ["--root", stateDirectory, "state", id], environment: Self.environment, timeout: 30)
        return state?.status == 0 && state?.stdoutText.contains("\"running\"") == true
    }

    /// Kills and deletes container `id`; safe when it is gone already.
    package func remove(_ id: String) {
        _ = try? ProcessRunner.run(
            "runc", ["--root", stateDirectory, "kill", id, "KILL"], environment: Self.environment, timeout: 30)
        let deadline = Date() + 10
        while isRunning(id) && Date() < deadline { usleep(50_000) }
        _ = try? ProcessRunner.run(
            "runc", ["--root", stateDirectory, "delete", "--force", id], environment: Self.environment, timeout: 30)
    }

    static var environment: [String: String] {
        var environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        // helpers/test marks every process of its run so its trap can stop anything a crashed test left behind.
        if let session = ProcessInfo.processInfo.environment["OCICRED_TEST_SESSION"] {
            environment["OCICRED_TEST_SESSION"] = session
        }
        return environment
    }
}
