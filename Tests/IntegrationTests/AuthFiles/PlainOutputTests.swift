import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Output that says it once, plainly, through the built binary: the helper keeps stderr quiet, `refresh --once`
/// prints one line per output and per failure and never promises a retry, `/readyz` and `/metrics` say what is
/// going on, durations are rounded, no Swift type names, and `authfile` refuses an expired token.
@Suite("output said once, plainly, through the binary", .serialized)
struct PlainOutputTests {
    let ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    let accessKey = "AKIDPLAINOUTPUTFIX01"
    let secretKey = "plain/output/fixture/secret/key/000000"

    func ecrEnvironment(_ fixture: FixtureServer, home: String) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_ENDPOINT_URL_ECR": fixture.baseURL,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": home + "/no-aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": home + "/no-aws-credentials",
        ]
    }

    /// Words that mean ocicred's internals leaked into a message.
    static let internals = [
        "NSCocoaErrorDomain", "Swift.", "NIOCore", "IOError", "[Commands]", "[Refresh]", "Optional(",
    ]

    @Test("the helper says nothing on stderr unless OCICRED_LOG_LEVEL asks")
    func helperStderrIsQuietByDefault() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try "{not json".write(toFile: home.file("broken-auth.json"), atomically: true, encoding: .utf8)
        let environment = ["REGISTRY_AUTH_FILE": home.file("broken-auth.json")]
        let quiet = try OcicredBinary.helper(
            "get", home: home.path, stdin: Data("nobody.example.org".utf8), extraEnvironment: environment)
        #expect(quiet.status == 1)
        #expect(quiet.stdoutText == "credentials not found in native keychain\n")
        #expect(quiet.stderr.isEmpty, "stderr: \(quiet.stderrText)")
        let asked = try OcicredBinary.helper(
            "get", home: home.path, stdin: Data("nobody.example.org".utf8),
            extraEnvironment: environment.merging(["OCICRED_LOG_LEVEL": "warning"]) { $1 })
        #expect(asked.stderrText.contains("skipping malformed auth file"), "\(asked)")
        for word in Self.internals { #expect(!asked.stderrText.contains(word), "\(word) in \(asked.stderrText)") }
    }

    /// Two registries, one whose credentials are in the environment (good) and one whose are not (bad), each
    /// written to its own auth file; `refreshSettings` goes under `refresh:` before the outputs.
    static func writeGoodAndBadConfig(in home: TemporaryDirectory, refreshSettings: String = "") throws {
        let outputs =
            "  outputs:\n    - authFile: {path: \(home.file("good.json")), registries: [good.example.org]}\n"
            + "    - authFile: {path: \(home.file("bad.json")), registries: [bad.example.org]}\n"
        try
            ("registries:\n  - host: good.example.org\n    credentials: [GOOD_USER, GOOD_PASS]\n"
            + "  - host: bad.example.org\n    credentials: [BAD_USER, BAD_PASS]\nrefresh:\n" + refreshSettings + outputs)
            .write(toFile: home.file("config.yaml"), atomically: true, encoding: .utf8)
    }

    @Test("refresh --once prints a line per output written and per failure, and never mentions retrying")
    func refreshOnceReportsWhatItDid() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try Self.writeGoodAndBadConfig(in: home)
        let result = try OcicredBinary.run(
            ["refresh", "--once"], home: home.path,
            extraEnvironment: ["OCICRED_CONFIG": home.file("config.yaml"), "GOOD_USER": "u", "GOOD_PASS": "p"])
        #expect(result.status == 1, "\(result)")
        #expect(result.stdoutText == "wrote \(home.file("good.json"))\n", "\(result)")
        let errors = result.stderrText.split(separator: "\n")
        #expect(errors.count == 1, "one line per failure: \(result.stderrText)")
        #expect(result.stderrText.hasPrefix("error: bad.example.org: "), "\(result.stderrText)")
        #expect(result.stderrText.contains("BAD_USER"), "\(result.stderrText)")
        #expect(!result.stderrText.lowercased().contains("retry"), "\(result.stderrText)")
        for word in Self.internals { #expect(!result.stderrText.contains(word), "\(word) in \(result.stderrText)") }
    }

    @Test("/readyz names what is not ready; /metrics carries build info and per-output write results")
    func readinessAndMetricsSayWhy() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try Self.writeGoodAndBadConfig(in: home, refreshSettings: "  retry: {initial: 30s, max: 1m}\n")
        let port = try FreePort.pick()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: OcicredBinary.path)
        process.arguments = ["refresh", "--listen", "127.0.0.1:\(port)"]
        process.environment = OcicredBinary.environment(
            home: home.path,
            extra: ["OCICRED_CONFIG": home.file("config.yaml"), "GOOD_USER": "u", "GOOD_PASS": "p"])
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        try #require(FreePort.waitUntilListening(port, timeout: 30))
        var ready = try ProcessRunner.run("curl", ["-s", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/readyz"])
        let deadline = Date() + 20
        while !ready.stdoutText.contains("bad.example.org"), Date() < deadline {
            usleep(200_000)
            ready = try ProcessRunner.run("curl", ["-s", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/readyz"])
        }
        #expect(ready.stdoutText.hasSuffix("\n503"), "\(ready.stdoutText)")
        #expect(
            ready.stdoutText.contains("registry bad.example.org: no credential obtained yet"), "\(ready.stdoutText)")
        #expect(ready.stdoutText.contains("output \(home.file("bad.json")): not written yet"), "\(ready.stdoutText)")
        #expect(!ready.stdoutText.contains("good.example.org"), "only what fails is named: \(ready.stdoutText)")
        let metrics = try ProcessRunner.run("curl", ["-s", "http://127.0.0.1:\(port)/metrics"]).stdoutText
        #expect(metrics.contains("ocicred_build_info{version="), "\(metrics)")
        #expect(
            metrics.contains(
                #"ocicred_refresh_output_writes_total{output="\#(home.file("good.json"))",result="success"} 1"#),
            "\(metrics)")
        kill(process.processIdentifier, SIGHUP)
        // Wait for the reload to be counted (an event), not for a fixed time.
        let reloadedLine = #"ocicred_refresh_config_reloads_total{result="success"} 1"#
        var reloaded = ""
        let reloadDeadline = Date() + 20
        repeat {
            reloaded = try ProcessRunner.run("curl", ["-s", "http://127.0.0.1:\(port)/metrics"]).stdoutText
            if reloaded.contains(reloadedLine) { break }
            usleep(50_000)
        } while Date() < reloadDeadline
        #expect(reloaded.contains(reloadedLine), "\(reloaded)")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(
            log.range(of: #"retry in: \d+s\)"#, options: .regularExpression) != nil, "durations are rounded: \(log)")
        #expect(log.range(of: #"\d+\.\d{3,}s"#, options: .regularExpression) == nil, "an unrounded duration: \(log)")
        for word in Self.internals { #expect(!log.contains(word), "\(word) in \(log)") }
    }

    @Test("authfile refuses a token that has already expired, unless told to write it anyway")
    func authfileRefusesAnExpiredToken() throws {
        let fixture = try FixtureServer(
            script: "aws_fixtures.py", arguments: ["--lifetime", "0"],
            environment: ["AWS_FIXTURE_ACCESS_KEY_ID": accessKey, "AWS_FIXTURE_SECRET_ACCESS_KEY": secretKey])
        defer { fixture.stop() }
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let environment = ecrEnvironment(fixture, home: home.path)
        let refused = try OcicredBinary.run(
            ["authfile", "--registry", ecrHost, "-o", home.file("auth.json")], home: home.path,
            extraEnvironment: environment)
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderrText.contains("expired at"), "\(refused)")
        #expect(refused.stderrText.contains("--allow-expired"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: home.file("auth.json")), "nothing was written")
        let forced = try OcicredBinary.run(
            ["authfile", "--registry", ecrHost, "-o", home.file("auth.json"), "--allow-expired"], home: home.path,
            extraEnvironment: environment)
        #expect(forced.status == 0, "\(forced)")
        #expect(FileManager.default.fileExists(atPath: home.file("auth.json")))
    }

    @Test("mount refuses a missing, non-empty or already mounted directory, saying which")
    func mountRefusesBadMountpoints() throws {
        try #require(geteuid() == 0, "the already-mounted case mounts a tmpfs, which needs root")
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let image = "127.0.0.1:9/team/app:1"
        let missing = try OcicredBinary.run(["mount", image, home.file("absent")], home: home.path)
        #expect(missing.status != 0 && missing.stderrText.contains("no such directory"), "\(missing)")
        #expect(!missing.stderrText.contains("not a directory"), "\(missing)")
        try FileManager.default.createDirectory(atPath: home.file("full"), withIntermediateDirectories: true)
        try "x".write(toFile: home.file("full/file"), atomically: true, encoding: .utf8)
        let full = try OcicredBinary.run(["mount", image, home.file("full")], home: home.path)
        #expect(full.status != 0 && full.stderrText.contains("not empty"), "\(full)")
        #expect(FileManager.default.fileExists(atPath: home.file("full/file")), "nothing was hidden or touched")
        try FileManager.default.createDirectory(atPath: home.file("mounted"), withIntermediateDirectories: true)
        try #require(mount("tmpfs", home.file("mounted"), "tmpfs", 0, "size=1m") == 0)
        defer { umount2(home.file("mounted"), Int32(MNT_DETACH)) }
        let stacked = try OcicredBinary.run(["mount", image, home.file("mounted")], home: home.path)
        #expect(stacked.status != 0 && stacked.stderrText.contains("already mounted there"), "\(stacked)")
        for result in [missing, full, stacked] {
            for word in Self.internals { #expect(!result.stderrText.contains(word), "\(word) in \(result.stderrText)") }
        }
    }

    @Test("a taken --listen port and a server that does not speak HTTP are said plainly")
    func listenConflictAndNonHTTPAreSaidPlainly() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        // A listener that greets like an SSH server and never speaks HTTP.
        let banner = Process()
        banner.executableURL = URL(fileURLWithPath: ProcessRunner.resolve("python3"))
        banner.arguments = [
            "-c",
            "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen(8)\n"
                + "print(s.getsockname()[1], flush=True)\n"
                + "while True:\n    c, _ = s.accept()\n    c.sendall(b'SSH-2.0-OpenSSH_9.2\\r\\n')\n    c.close()\n",
        ]
        let output = Pipe()
        banner.standardOutput = output
        try banner.run()
        defer { if banner.isRunning { kill(banner.processIdentifier, SIGKILL) } }
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let port = try #require(Int(line.trimmingCharacters(in: .whitespacesAndNewlines)))
        _ = try OcicredBinary.helper(
            "store", home: home.path,
            stdin: Data(#"{"ServerURL":"127.0.0.1:\#(port)","Username":"u","Secret":"p"}"#.utf8))
        let verified = try OcicredBinary.run(
            ["verify", "127.0.0.1:\(port)", "--tls-verify=false"], home: home.path, timeout: 60)
        #expect(verified.status != 0, "\(verified)")
        #expect(verified.stderrText.contains("not HTTP"), "\(verified)")
        #expect(!verified.stderrText.contains("invalid URL"), "\(verified)")

        try "registries:\n  - host: r.example.org\n    credentials: [U_V, P_V]\n".write(
            toFile: home.file("c.yaml"), atomically: true, encoding: .utf8)
        let taken = try OcicredBinary.run(
            ["refresh", "--listen", "127.0.0.1:\(port)", "--auth-file", home.file("a.json")], home: home.path,
            extraEnvironment: ["OCICRED_CONFIG": home.file("c.yaml"), "U_V": "u", "P_V": "p"], timeout: 30)
        #expect(taken.status != 0, "\(taken)")
        #expect(taken.stderrText.contains("cannot listen on 127.0.0.1:\(port)"), "\(taken)")
        for word in Self.internals + ["bind(", "descriptor:"] {
            #expect(!taken.stderrText.contains(word), "\(word) in \(taken.stderrText)")
        }
    }
}
