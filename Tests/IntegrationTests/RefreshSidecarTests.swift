import Foundation
import Testing
import TestSupport

/// `ocicred refresh` as a real process: the built binary, real fixture token sources, a real registry and
/// buildah, signals sent the way the kubelet sends them. Loopback only; everything stopped in `defer`.
@Suite("ocicred refresh as a sidecar")
struct RefreshSidecarTests {
    /// A running `ocicred refresh`, its stderr in a file.
    final class Sidecar: @unchecked Sendable {
        let process = Process()
        let logFile: String
        init(_ arguments: [String], home: String, environment: [String: String]) throws {
            logFile = home + "/refresh-\(UUID().uuidString.prefix(6)).log"
            FileManager.default.createFile(atPath: logFile, contents: nil)
            process.executableURL = URL(fileURLWithPath: OcicredBinary.path)
            process.arguments = ["refresh"] + arguments
            process.environment = OcicredBinary.environment(home: home, extra: environment)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: logFile)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }
        func signal(_ number: Int32) { kill(process.processIdentifier, number) }
        func waitForExit(timeout: Double = 20) -> Int32? {
            let deadline = Date() + timeout
            while process.isRunning && Date() < deadline { usleep(20_000) }
            return process.isRunning ? nil : process.terminationStatus
        }
        func stop() {
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    static func get(_ url: String) -> (status: Int, body: String) {
        guard let result = try? ProcessRunner.run("curl", ["-s", "-m", "5", "-w", "\n%{http_code}", url]) else {
            return (0, "")
        }
        let text = result.stdoutText
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    static func waitUntil(_ timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date() + timeout
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    /// A forwarder in front of a fixture that a test can take down (`POST /__down`, `/__up`): the token source's
    /// address stays the same while it is "down", as an outage looks to a client.
    static let proxyScript = """
        import http.server, sys, threading, urllib.request
        upstream = sys.argv[1]
        state = {"down": False}
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def do_POST(self):
                state["down"] = self.path == "/__down"
                self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
            def do_GET(self):
                if state["down"]:
                    self.send_response(503); self.send_header("Content-Length", "0"); self.end_headers(); return
                req = urllib.request.Request(upstream + self.path, headers={k: v for k, v in self.headers.items()})
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        body = r.read(); code = r.status; ctype = r.headers.get("Content-Type", "application/json")
                except urllib.error.HTTPError as e:
                    body = e.read(); code = e.code; ctype = "application/json"
                self.send_response(code); self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        print("PORT", s.server_address[1], flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), s.shutdown()), daemon=True).start()
        s.serve_forever()
        """

    final class Proxy: @unchecked Sendable {
        let process = Process()
        let port: Int
        let input = Pipe()
        init(upstream: String, directory: TemporaryDirectory) throws {
            let script = directory.file("proxy.py")
            try RefreshSidecarTests.proxyScript.write(toFile: script, atomically: true, encoding: .utf8)
            let output = Pipe()
            process.executableURL = URL(fileURLWithPath: ProcessRunner.resolve("python3"))
            process.arguments = ["-u", script, upstream]
            process.standardOutput = output
            process.standardInput = input
            try process.run()
            var line = Data()
            while true {
                let byte = output.fileHandleForReading.readData(ofLength: 1)
                if byte.isEmpty || byte == Data("\n".utf8) { break }
                line.append(byte)
            }
            port = Int(String(decoding: line, as: UTF8.self).dropFirst(5)) ?? 0
        }
        func set(down: Bool) { _ = try? ProcessRunner.run("curl", ["-s", "-X", "POST", "http://127.0.0.1:\(port)/__\(down ? "down" : "up")"]) }
        func stop() {
            try? input.fileHandleForWriting.close()
            if process.isRunning { process.terminate(); process.waitUntilExit() }
        }
    }

    static func authEntries(_ path: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object["auths"] as? [String: Any]
    }

    static func status(_ path: String) -> [String: Double] {
        guard let data = FileManager.default.contents(atPath: path + ".status"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let entries = object["entries"] as? [[String: Any]]
        else { return [:] }
        var result = [String: Double]()
        for entry in entries { result[entry["key"] as? String ?? ""] = entry["expiresAt"] as? Double ?? .infinity }
        return result
    }

    // MARK: --once

    @Test func onceExitsZeroWhenEverythingIsWrittenAndOneWhenARegistryFails() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-once")
        defer { dir.remove() }
        let config = dir.file("config.yaml")
        try """
            registries:
              - host: registry.example:5000
                credentials: [REG_USER, REG_PASS]
            refresh:
              outputs:
                - authFile: {path: \(dir.file("out/auth.json"))}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let ok = try OcicredBinary.run(
            ["refresh", "--once"], home: dir.path,
            extraEnvironment: ["OCICRED_CONFIG": config, "REG_USER": "ci", "REG_PASS": "s3cret-value"])
        #expect(ok.status == 0, "\(ok)")
        #expect(Self.authEntries(dir.file("out/auth.json"))?["registry.example:5000"] != nil)
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("out/auth.json"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let health = try OcicredBinary.run(["health", "--file", dir.file("out/auth.json")], home: dir.path)
        #expect(health.status == 0, "\(health)")

        let failing = try OcicredBinary.run(
            ["refresh", "--once"], home: dir.path, extraEnvironment: ["OCICRED_CONFIG": config, "REG_USER": "ci"])
        #expect(failing.status == 1, "\(failing)")
        #expect(failing.stderrText.contains("REG_PASS") && !failing.stderrText.contains("s3cret-value"))
        let nothing = try OcicredBinary.run(["refresh", "--once"], home: dir.path, extraEnvironment: ["OCICRED_CONFIG": dir.file("none.yaml")])
        #expect(nothing.status == 2, "\(nothing)")
    }

    // MARK: signals

    @Test func sigtermExitsZeroAndSighupWithABrokenConfigKeepsTheOldOne() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-signals")
        defer { dir.remove() }
        let config = dir.file("config.yaml")
        let good = """
            registries:
              - host: registry.example:5000
                credentials: [REG_USER, REG_PASS]
            refresh:
              outputs:
                - authFile: {path: \(dir.file("auth.json"))}

            """
        try good.write(toFile: config, atomically: true, encoding: .utf8)
        let port = try FreePort.pick()
        let sidecar = try Sidecar(
            ["--listen", "127.0.0.1:\(port)"], home: dir.path,
            environment: ["OCICRED_CONFIG": config, "REG_USER": "ci", "REG_PASS": "pw", "OCICRED_LOG_LEVEL": "info"])
        defer { sidecar.stop() }
        #expect(Self.waitUntil(20) { Self.get("http://127.0.0.1:\(port)/readyz").status == 200 }, "\(sidecar.log)")
        #expect(Self.get("http://127.0.0.1:\(port)/healthz").status == 200)

        try (good + "  retry: {initial: 10s, max: 1s}\n").write(toFile: config, atomically: true, encoding: .utf8)
        sidecar.signal(SIGHUP)
        #expect(Self.waitUntil(10) { sidecar.log.contains("config reload failed") }, "\(sidecar.log)")
        #expect(sidecar.log.contains("config.yaml:7:30: `retry.max`"), "the position of the mistake: \(sidecar.log)")
        #expect(sidecar.process.isRunning)
        #expect(Self.get("http://127.0.0.1:\(port)/readyz").status == 200)

        sidecar.signal(SIGTERM)
        #expect(sidecar.waitForExit() == 0, "\(sidecar.log)")
    }

    // MARK: crash safety

    @Test func sigkillDuringWritesLeavesTheOldOrTheNewFile() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-kill")
        defer { dir.remove() }
        let authFile = dir.file("auth.json")
        var rules = "registries:\n"
        var environment = ["OCICRED_CONFIG": dir.file("config.yaml"), "REG_USER": "u"]
        for index in 0..<200 { rules += "  - host: r\(index).example\n    credentials: [REG_USER, REG_PASS]\n" }
        try rules.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        environment["REG_PASS"] = "old"
        let started = Date()
        let first = try OcicredBinary.run(["refresh", "--once", "--auth-file", authFile], home: dir.path, extraEnvironment: environment)
        // Kills land from a third of a run to three runs in: before, during and after the write (loaded machines are slower).
        let runMicroseconds = UInt32(Date().timeIntervalSince(started) * 1_000_000)
        try #require(first.status == 0, "\(first)")
        let old = try Data(contentsOf: URL(fileURLWithPath: authFile))
        var versions = Set<Data>([old])
        var lastLog = ""
        for round in 0..<50 {
            environment["REG_PASS"] = "new-\(round)"
            let sidecar = try Sidecar(["--once", "--auth-file", authFile], home: dir.path, environment: environment)
            usleep(UInt32.random(in: runMicroseconds / 3...runMicroseconds * 3))
            sidecar.stop()
            lastLog = sidecar.log
            let now = try Data(contentsOf: URL(fileURLWithPath: authFile))
            let entries = try JSONSerialization.jsonObject(with: now) as? [String: Any]
            #expect((entries?["auths"] as? [String: Any])?.count == 200, "round \(round): a partial file")
            versions.insert(now)
        }
        #expect(versions.count >= 2, "no kill landed after a write; the test proved nothing: \(lastLog)")
    }

    // MARK: time-compressed refresh

    /// GCP's metadata server issuing 70-second tokens (the GCP provider refuses tokens with less than 60 s
    /// left, so 20 s ones cannot be used): over two minutes the auth file is rewritten before every expiry, a
    /// reader polling every 100 ms never sees an expired or partial file, and buildah pushes with it at the end.
    @Test func shortLivedTokensAreRewrittenBeforeEveryExpiryAndBuildahPushes() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-short")
        defer { dir.remove() }
        // 20-second ECR tokens from the strict ECR fixture (it verifies SigV4 and counts mints).
        let ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        let accessKey = "AKIDREFRESHFIXTURE01", secretKey = "refresh/fixture/secret/key/000000000000"
        let ecr = try FixtureServer(
            script: "aws_fixtures.py", arguments: ["--lifetime", "20"],
            environment: ["AWS_FIXTURE_ACCESS_KEY_ID": accessKey, "AWS_FIXTURE_SECRET_ACCESS_KEY": secretKey])
        defer { ecr.stop() }
        let password = "push-" + UUID().uuidString.prefix(8).lowercased()
        let registry = try RegistryFixture.start(username: "pusher", password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }
        let authFile = dir.file("shared/auth.json")
        try """
            registries:
              - host: \(ecrHost)
              - host: \(registry.host)
                credentials: [REG_USER, REG_PASS]
            refresh:
              minInterval: 2s
              outputs:
                - authFile: {path: \(authFile)}
            """.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        let sidecar = try Sidecar(
            [], home: dir.path,
            environment: [
                "OCICRED_CONFIG": dir.file("config.yaml"), "REGISTRY_AUTH_FILE": authFile, "REG_USER": "pusher",
                "REG_PASS": password, "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey,
                "AWS_ENDPOINT_URL_ECR": ecr.baseURL, "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": dir.file("no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": dir.file("no-aws-creds"),
                "OCICRED_LOG_LEVEL": "info",
            ])
        defer { sidecar.stop() }
        try #require(Self.waitUntil(20) { Self.status(authFile)[ecrHost] != nil }, "\(sidecar.log)")

        var problems = [String]()
        var tokens = Set<String>()
        let end = Date() + 120
        while Date() < end {
            let now = Date().timeIntervalSince1970
            guard let entries = Self.authEntries(authFile) else {
                problems.append("unparseable at \(now)")
                usleep(100_000)
                continue
            }
            if let entry = entries[ecrHost] as? [String: Any], let auth = entry["auth"] as? String { tokens.insert(auth) }
            else { problems.append("no ECR entry at \(now)") }
            if entries[registry.host] == nil { problems.append("no registry entry at \(now)") }
            if let expiry = Self.status(authFile)[ecrHost], expiry <= now { problems.append("expired at \(now)") }
            usleep(100_000)
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))\n\(sidecar.log)")
        // 120 s of 20 s tokens refreshed before expiry: a new token every few seconds, never a gap.
        #expect(tokens.count >= 6, "tokens seen: \(tokens.count)\n\(sidecar.log)")
        #expect(try OcicredBinary.run(["health", "--file", authFile], home: dir.path).status == 0)

        let from = try sandbox.run("buildah", ["from", "scratch"])
        try #require(from.status == 0, "\(from)")
        let container = from.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let commit = try sandbox.run("buildah", ["commit", "--quiet", "--rm", container, "localhost/refreshed"])
        try #require(commit.status == 0, "\(commit)")
        let push = try sandbox.run(
            "buildah", ["push", "--authfile", authFile, "--tls-verify=false", "localhost/refreshed",
                "docker://\(registry.host)/sidecar/app:latest"])
        #expect(push.status == 0, "buildah push --authfile: \(push)\n\(registry.log)")
        #expect(!sidecar.log.contains(password))
        sidecar.signal(SIGTERM)
        #expect(sidecar.waitForExit() == 0)
    }

    // MARK: faults

    @Test func aTokenSourceOutageKeepsTheLastGoodUntilExpiryThenReadinessRecovers() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-outage")
        defer { dir.remove() }
        let gcp = try FixtureServer(script: "gcp_fixtures.py", environment: ["GCP_FIXTURE_EXPIRES_IN": "70"])
        defer { gcp.stop() }
        let proxy = try Proxy(upstream: gcp.baseURL, directory: dir)
        defer { proxy.stop() }
        let authFile = dir.file("auth.json")
        try """
            registries:
              - host: gcr.io
            refresh:
              minInterval: 2s
              retry: {initial: 2s, max: 8s}
              outputs:
                - authFile: {path: \(authFile)}
            """.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        let port = try FreePort.pick()
        let sidecar = try Sidecar(
            ["--listen", "127.0.0.1:\(port)"], home: dir.path,
            environment: [
                "OCICRED_CONFIG": dir.file("config.yaml"), "GCE_METADATA_HOST": "127.0.0.1:\(proxy.port)",
                "CLOUDSDK_CONFIG": dir.file("gcloud"),
            ])
        defer { sidecar.stop() }
        let readyz = "http://127.0.0.1:\(port)/readyz"
        try #require(Self.waitUntil(20) { Self.get(readyz).status == 200 }, "\(sidecar.log)")
        let before = try #require(Self.authEntries(authFile)?["gcr.io"] as? [String: Any])
        let expiry = try #require(Self.status(authFile)["gcr.io"])

        proxy.set(down: true)
        // While down and before expiry: the last good credential is still served and ready.
        Thread.sleep(forTimeInterval: 20)
        #expect(Self.get(readyz).status == 200)
        #expect(Self.authEntries(authFile)?["gcr.io"] as? [String: String] == before as? [String: String])
        // After the kept credential expires: 503.
        let untilExpiry = expiry - Date().timeIntervalSince1970 + 2
        if untilExpiry > 0 { Thread.sleep(forTimeInterval: untilExpiry) }
        #expect(Self.get(readyz).status == 503, "\(sidecar.log)")
        #expect(try OcicredBinary.run(["health", "--file", authFile], home: dir.path).status == 1)
        // The refreshes due since the outage began failed and are backing off, visibly.
        let metrics = Self.get("http://127.0.0.1:\(port)/metrics").body
        #expect(metrics.contains("ocicred_refresh_failures_total{registry=\"gcr.io\"}") && !metrics.contains("failures_total{registry=\"gcr.io\"} 0"), "\(metrics)")
        let backoff = metrics.split(separator: "\n").first { $0.hasPrefix("ocicred_refresh_backoff_seconds{registry=\"gcr.io\"}") }
        #expect((backoff?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 0, "\(metrics)")
        proxy.set(down: false)
        #expect(Self.waitUntil(20) { Self.get(readyz).status == 200 }, "\(sidecar.log)")
        #expect(try OcicredBinary.run(["health", "--file", authFile], home: dir.path).status == 0)
        sidecar.signal(SIGTERM)
        #expect(sidecar.waitForExit() == 0)
    }

    // MARK: Secrets and leader election

    /// Two replicas against the fixture API server with one Lease: only the leader writes the Secret; when it
    /// stops (SIGTERM releases the lease) the standby takes over and writes.
    @Test func withALeaseOnlyTheLeaderWritesTheSecret() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-kube")
        defer { dir.remove() }
        let kube = try FixtureServer(
            script: "kube_apiserver.py", arguments: ["--tls-dir", dir.path],
            environment: ["KUBE_FIXTURE_TOKENS": "fixture-token"])
        defer { kube.stop() }
        try """
            apiVersion: v1
            kind: Config
            current-context: test
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:\(kube.port)", certificate-authority: "\(dir.file("ca.crt"))"}}]
            users: [{name: u, user: {token: fixture-token}}]
            contexts: [{name: test, context: {cluster: c, user: u, namespace: ocicred}}]
            """.write(toFile: dir.file("kubeconfig"), atomically: true, encoding: .utf8)
        try """
            registries:
              - host: registry.example:5000
                credentials: [REG_USER, REG_PASS]
            """.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        let environment = [
            "OCICRED_CONFIG": dir.file("config.yaml"), "KUBECONFIG": dir.file("kubeconfig"), "REG_USER": "u",
            "REG_PASS": "pw", "OCICRED_LOG_LEVEL": "info",
        ]
        let arguments = ["--secret-name", "ocicred-pull", "--leader-election-lease", "ocicred-refresh"]
        let first = try Sidecar(arguments + ["--identity", "replica-a"], home: dir.path, environment: environment)
        defer { first.stop() }
        try #require(Self.waitUntil(20) { first.log.contains("secret written") }, "\(first.log)")
        let second = try Sidecar(arguments + ["--identity", "replica-b"], home: dir.path, environment: environment)
        defer { second.stop() }
        Thread.sleep(forTimeInterval: 6)
        #expect(!second.log.contains("secret written"), "the standby wrote: \(second.log)")
        #expect(!second.log.contains("leading"))
        let secret = try ProcessRunner.run(
            "curl", ["-s", "--cacert", dir.file("ca.crt"),
                "https://127.0.0.1:\(kube.port)/__object?resource=secrets&namespace=ocicred&name=ocicred-pull"])
        #expect(secret.stdoutText.contains("kubernetes.io/dockerconfigjson"), "\(secret)")

        first.signal(SIGTERM)
        #expect(first.waitForExit() == 0, "\(first.log)")
        #expect(Self.waitUntil(20) { second.log.contains("secret written") }, "the standby never took over: \(second.log)")
        second.signal(SIGTERM)
        #expect(second.waitForExit() == 0)
    }
}
