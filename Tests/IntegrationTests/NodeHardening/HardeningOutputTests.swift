import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What ocicred prints and how it exits, through the built binary: a credential appears only on the outputs
/// meant to carry it, work stays proportional to input, and a failed write or a signal is reported as what it
/// was.
@Suite("outputs and exits, attacked through the binary", .serialized)
struct HardeningOutputTests {
    // MARK: - Class 5: no credential on any output except the one meant to carry it

    @Test("with trace logging, no command but get, authfile -o -, get --show-secret and kubelet prints a credential")
    func noCredentialOnAnyOtherOutput() throws {
        let password = "audit-canary-Pa55-" + UUID().uuidString.prefix(6).lowercased()
        let username = "auditor"
        let basic = Data("\(username):\(password)".utf8).base64EncodedString()
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-audit")
        defer { directory.remove() }
        let home = directory.file("home")
        var environment = try OcicredBinary.registryEnvironment(home: home)
        environment["OCICRED_LOG_LEVEL"] = "trace"
        environment["AUDIT_USER"] = username
        environment["AUDIT_PASS"] = password
        let host = registry.host
        try """
        registries:
          - host: static.example.com
            credentials: [AUDIT_USER, AUDIT_PASS]
        """.write(toFile: directory.file("config.yaml"), atomically: true, encoding: .utf8)
        environment["OCICRED_CONFIG"] = directory.file("config.yaml")
        let image = try LayeredImage.build(in: directory)
        try image.push(to: registry, password: password, repository: "audit/app", directory: directory)
        // An auth file that already holds the credential, as configure and refresh find it.
        let authFile = directory.file("auth.json")
        try #"{"auths":{"\#(host)":{"auth":"\#(basic)"},"static.example.com":{"auth":"\#(basic)"}}}"#
            .write(toFile: authFile, atomically: true, encoding: .utf8)
        let request =
            #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","#
            + #""image":"static.example.com/team/app:1"}"#

        // (arguments, stdin, which streams may carry the credential)
        let commands: [(arguments: [String], stdin: String, carrier: Bool)] = [
            (["login", host, "-u", username, "--password-stdin"], password + "\n", false),
            (["helper", "list"], "", false),
            (["helper", "get"], host, true),
            (["get", host], "", false),
            (["get", host, "--show-secret"], "", true),
            (["get", "static.example.com"], "", false),
            (["list"], "", false),
            (["verify", host, "--repository", "audit/app"], "", false),
            (["authfile", "--registry", host, "-o", directory.file("written.json")], "", false),
            (["authfile", "--registry", host, "-o", "-"], "", true),
            (["authfile", "--registry", "static.example.com", "--from-env", "AUDIT_USER", "AUDIT_PASS"], "", true),
            (["configure", "--registry", "ghcr.io", "--authfile", authFile, "--dry-run"], "", false),
            (["configure", "--registry", "ghcr.io", "--authfile", authFile], "", false),
            (["refresh", "--once", "--auth-file", directory.file("refreshed.json")], "", false),
            (["kubelet"], request, true),
            (["config", "validate", directory.file("config.yaml")], "", false),
            (["index", "\(host)/audit/app:\(image.tag)"], "", false),
            (["logout", host], "", false),
            (["helper", "erase"], host, false),
        ]
        for command in commands {
            let result = try OcicredBinary.run(
                command.arguments, home: home, stdin: command.stdin, extraEnvironment: environment, timeout: 120)
            #expect(result.status == 0, "\(command.arguments): \(result.stderrText.suffix(2000))")
            let name = command.arguments.joined(separator: " ")
            for secret in [password, basic] {
                #expect(!result.stderrText.contains(secret), "\(name) logged a credential on stderr")
                if !command.carrier {
                    #expect(!result.stdoutText.contains(secret), "\(name) printed a credential on stdout")
                }
            }
        }
        // The files written are the other carriers; each is 0600.
        for file in ["written.json", "refreshed.json", "auth.json"] {
            let mode = try FileManager.default.attributesOfItem(atPath: directory.file(file))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(file) is \(String(mode ?? 0, radix: 8))")
        }
    }

    // MARK: - Class 11: signals and exits say what happened

    @Test("an answer that cannot be written is a failure: get >/dev/full exits non-zero")
    func helperAnswerToAFullDeviceFails() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let stored = try OcicredBinary.helper(
            "store", home: home.path, stdin: Data(#"{"ServerURL":"full.example.com","Username":"u","Secret":"s"}"#.utf8)
        )
        try #require(stored.status == 0, "\(stored)")
        let bin = try OcicredBinary.linkHelper(into: home.path + "/bin")
        for action in ["get", "list", "version"] {
            let result = try ProcessRunner.shell(
                "printf full.example.com | '\(bin)/docker-credential-ocicred' \(action) >/dev/full; echo \"status=$?\"",
                environment: OcicredBinary.environment(home: home.path))
            #expect(result.stdoutText.contains("status=1"), "\(action): \(result)")
            #expect(result.stderrText.contains("cannot write"), "\(action) says why: \(result)")
        }
        for arguments in [["authfile", "--registry", "full.example.com", "-o", "-"], ["--version"]] {
            let result = try ProcessRunner.shell(
                "'\(OcicredBinary.path)' \(arguments.joined(separator: " ")) >/dev/full; echo \"status=$?\"",
                environment: OcicredBinary.environment(home: home.path))
            #expect(!result.stdoutText.contains("status=0"), "\(arguments): \(result)")
        }
    }

    @Test("a mount stopped by signals while its output pipes are gone exits 0, every time")
    func mountStoppedWithClosedPipesExitsCleanly() throws {
        let password = "pw-" + UUID().uuidString.prefix(6).lowercased()
        let registry = try RegistryFixture.start(username: "mounter", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-sigpipe")
        defer { directory.remove() }
        let home = directory.file("home")
        let environment = try OcicredBinary.registryEnvironment(home: home)
        let image = try LayeredImage.build(in: directory)
        try image.push(to: registry, password: password, repository: "sig/app", directory: directory)
        let login = try OcicredBinary.run(
            ["login", registry.host, "-u", "mounter", "--password-stdin"], home: home, stdin: password + "\n",
            extraEnvironment: environment)
        try #require(login.status == 0, "\(login)")
        var statuses: [Int32] = []
        for round in 0..<15 {
            let mountpoint = directory.file("mnt-\(round)")
            try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
            // Started as a shell starts it, with SIGPIPE at its default (the test process ignores it, and an
            // ignored disposition is inherited across exec).
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "--default-signal=PIPE", OcicredBinary.path, "mount", "\(registry.host)/sig/app:\(image.tag)",
                mountpoint,
            ]
            process.environment = OcicredBinary.environment(home: home, extra: environment)
            let output = Pipe(), errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            process.standardInput = FileHandle.nullDevice
            try process.run()
            defer {
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                if OcicredMount.isMounted(mountpoint) { _ = umount2(mountpoint, Int32(MNT_DETACH)) }
            }
            var seen = Data()
            let deadline = Date() + 120
            while !String(decoding: seen, as: UTF8.self).contains("mounted "), Date() < deadline {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen.append(chunk)
            }
            try #require(OcicredMount.isMounted(mountpoint), "round \(round): \(String(decoding: seen, as: UTF8.self))")
            // Whoever started the mount has gone: both readers are closed before the signals arrive.
            try output.fileHandleForReading.close()
            try errors.fileHandleForReading.close()
            kill(process.processIdentifier, SIGTERM)
            usleep(20_000)
            kill(process.processIdentifier, SIGTERM)
            kill(process.processIdentifier, SIGINT)
            let waitUntil = Date() + 45
            while process.isRunning && Date() < waitUntil { usleep(20_000) }
            try #require(!process.isRunning, "round \(round): the mount did not stop")
            statuses.append(
                process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus)
            #expect(!OcicredMount.isMounted(mountpoint), "round \(round) left the mount")
        }
        #expect(statuses == Array(repeating: 0, count: 15), "exit statuses: \(statuses)")
    }

    // MARK: - Class 12: work stays proportional to input

    @Test("configure --dry-run on an 18,000-line config.json runs in bounded memory")
    func dryRunOnAHugeConfigStaysSmall() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let path = home.file("config.json")
        var auths: [String] = []
        for index in 0..<6_000 {
            auths.append(
                "    \"registry-\(index).example.com\": {\n      \"auth\": \"dXNlcjpwYXNz-\(index)\"\n    }")
        }
        let text = "{\n  \"auths\": {\n" + auths.joined(separator: ",\n") + "\n  }\n}\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try #require(text.split(separator: "\n").count >= 18_000)
        // 512 MiB of data segment: the old line diff needed 2.6 GB for this file.
        let result = try ProcessRunner.shell(
            "ulimit -d 524288; exec '\(OcicredBinary.path)' configure --registry ghcr.io --authfile '\(path)' --dry-run",
            environment: OcicredBinary.environment(home: home.path), timeout: 120)
        #expect(result.status == 0, "\(result.stderrText.suffix(2000))")
        #expect(
            result.stdoutText.contains("+ credHelpers.\"ghcr.io\": \"ocicred\""), "\(result.stdoutText.prefix(500))")
        #expect(result.stdoutText.split(separator: "\n").count < 10, "only the change is shown")
    }

    /// Inputs whose nesting depth, not size, is hostile: each parser bounds its recursion and says so.
    enum DeepInput: String, CaseIterable, CustomTestStringConvertible {
        case config, registriesConf, authFile, storeRequest, kubeletRequest
        var testDescription: String { rawValue }
    }

    @Test("deeply nested input is refused with a message, never a crash", arguments: DeepInput.allCases)
    func deeplyNestedInputIsRefused(input: DeepInput) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let depth = 100_000
        let deepJSON = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var environment = try OcicredBinary.registryEnvironment(home: home.path)
        let result: ProcessResult
        switch input {
        case .config:
            try ("registries: " + deepJSON).write(toFile: home.file("config.yaml"), atomically: true, encoding: .utf8)
            result = try OcicredBinary.run(["config", "validate", home.file("config.yaml")], home: home.path)
        case .registriesConf:
            try ("[registries]\nx = " + deepJSON + "\n").write(
                toFile: home.file("registries.conf"), atomically: true, encoding: .utf8)
            result = try OcicredBinary.run(["verify", "127.0.0.1:9"], home: home.path, extraEnvironment: environment)
        case .authFile:
            try ("{\"auths\": " + deepJSON + "}").write(
                toFile: home.file("auth.json"), atomically: true, encoding: .utf8)
            environment["REGISTRY_AUTH_FILE"] = home.file("auth.json")
            result = try OcicredBinary.run(
                ["configure", "--registry", "ghcr.io", "--authfile", home.file("auth.json")], home: home.path)
        case .storeRequest:
            result = try OcicredBinary.helper(
                "store", home: home.path,
                stdin: Data(("{\"ServerURL\":" + String(repeating: "[", count: 30_000) + "}").utf8))
        case .kubeletRequest:
            let request =
                #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"a/b","x":"#
                + String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000) + "}"
            result = try OcicredBinary.run(["kubelet"], home: home.path, stdin: request)
        }
        #expect(result.signal == nil, "it failed cleanly, not by a signal: \(result)")
        #expect(result.status != 0, "\(result)")
        #expect(!(result.stdoutText + result.stderrText).isEmpty, "it said why")
    }
}
