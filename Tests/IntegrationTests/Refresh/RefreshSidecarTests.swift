import Foundation
import TestSupport
import Testing

/// `ocicred refresh` as a real process: the built binary, real fixture token sources, a real registry and
/// buildah, signals sent the way the kubelet sends them. Loopback only; everything stopped in `defer`.
@Suite("ocicred refresh as a sidecar")
struct RefreshSidecarTests {
    /// A running `ocicred refresh`, its stderr in a file.
    static func sidecar(_ arguments: [String], home: String, environment: [String: String]) throws -> OcicredProcess {
        try OcicredProcess(["refresh"] + arguments, home: home, environment: environment, logName: "refresh")
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
        let mode =
            try FileManager.default.attributesOfItem(atPath: dir.file("out/auth.json"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let health = try OcicredBinary.run(["health", "--authfile", dir.file("out/auth.json")], home: dir.path)
        #expect(health.status == 0, "\(health)")

        let failing = try OcicredBinary.run(
            ["refresh", "--once"], home: dir.path, extraEnvironment: ["OCICRED_CONFIG": config, "REG_USER": "ci"])
        #expect(failing.status == 1, "\(failing)")
        // Judged outside #expect, which would print the operands, the secret among them.
        let namesTheVariable = failing.stderrText.contains("REG_PASS")
        let showsTheValue = failing.stderrText.contains("s3cret-value")
        #expect(namesTheVariable && !showsTheValue, "the error should name REG_PASS and never show a secret")
        let nothing = try OcicredBinary.run(
            ["refresh", "--once"], home: dir.path, extraEnvironment: ["OCICRED_CONFIG": dir.file("none.yaml")])
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
        let sidecar = try Self.sidecar(
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
        let first = try OcicredBinary.run(
            ["refresh", "--once", "--authfile", authFile], home: dir.path, extraEnvironment: environment)
        // Kills land from a third of a run to three runs in: before, during and after the write (loaded machines are slower).
        let runMicroseconds = UInt32(Date().timeIntervalSince(started) * 1_000_000)
        try #require(first.status == 0, "\(first)")
        let old = try Data(contentsOf: URL(fileURLWithPath: authFile))
        var versions = Set<Data>([old])
        var lastLog = ""
        for round in 0..<50 {
            environment["REG_PASS"] = "new-\(round)"
            let sidecar = try Self.sidecar(
                ["--once", "--auth-file", authFile], home: dir.path, environment: environment)
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

    /// The ECR fixture issuing 20-second tokens: over two minutes the auth file is rewritten before every expiry,
    /// a reader polling every 100 ms never sees an expired or partial file, and buildah pushes with it at the end.
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
        let sidecar = try Self.sidecar(
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
            if let entry = entries[ecrHost] as? [String: Any], let auth = entry["auth"] as? String {
                tokens.insert(auth)
            } else {
                problems.append("no ECR entry at \(now)")
            }
            if entries[registry.host] == nil { problems.append("no registry entry at \(now)") }
            if let expiry = Self.status(authFile)[ecrHost] {
                if expiry <= now { problems.append("expired at \(now)") }
            } else {
                problems.append("no readable expiry in the status file at \(now)")
            }
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
            "buildah",
            [
                "push", "--authfile", authFile, "--tls-verify=false", "localhost/refreshed",
                "docker://\(registry.host)/sidecar/app:latest",
            ])
        #expect(push.status == 0, "buildah push --authfile: \(push)\n\(registry.log)")
        let leaked = sidecar.log.contains(password)  // outside #expect, which would print the log and the password
        #expect(!leaked, "the registry password in the sidecar's log")
        sidecar.signal(SIGTERM)
        #expect(sidecar.waitForExit() == 0)
    }

    // MARK: faults

    /// The value of a per-registry series in a Prometheus text exposition.
    static func metric(_ name: String, registry: String, in text: String) -> Double? {
        let prefix = "\(name){registry=\"\(registry)\"} "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }
    }

    /// The most mint attempts that `window` seconds of failures allow: the first at once, then every wait as short
    /// as the backoff makes it (jitter takes at most `jitterFraction` off, never going below `minInterval`).
    /// A tight loop, or a retry at every `minInterval`, makes more.
    static func mostAttempts(
        in window: Double, minInterval: Double, initial: Double, cap: Double, jitterFraction: Double = 0.1
    ) -> Int {
        var attempts = 1
        var elapsed = 0.0
        while true {
            let base = min(initial * Double(sign: .plus, exponent: attempts - 1, significand: 1), cap)
            elapsed += max(base * (1 - jitterFraction), min(minInterval, cap))
            if elapsed > window { return attempts }
            attempts += 1
        }
    }

    /// Issue 5's fault proof: 20-second ECR tokens, and ECR unavailable for 40 s from just after a refresh
    /// (GetAuthorizationToken answers 503 ServiceUnavailableException, as AWS does). The last good token stays in
    /// the auth file byte for byte; /readyz stays ready until that token expires and turns 503 then, not before;
    /// the failures counter rises; the retries follow the capped backoff, not a tight loop; once ECR is back, a
    /// fresh token is written within the backoff cap and /readyz is ready again.
    @Test func anECROutageKeepsTheLastGoodTokenUntilExpiryBacksOffAndRecovers() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-outage")
        defer { dir.remove() }
        let ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        let accessKey = "AKIDOUTAGEFIXTURE001", secretKey = "outage/fixture/secret/key/0000000000000"
        let ecr = try FixtureServer(
            script: "aws_fixtures.py", arguments: ["--lifetime", "20"],
            environment: ["AWS_FIXTURE_ACCESS_KEY_ID": accessKey, "AWS_FIXTURE_SECRET_ACCESS_KEY": secretKey])
        defer { ecr.stop() }
        let authFile = dir.file("shared/auth.json")
        let outage = 40.0, minInterval = 2.0, retryInitial = 2.0, retryMax = 8.0
        try """
        registries:
          - host: \(ecrHost)
        refresh:
          minInterval: \(Int(minInterval))s
          retry: {initial: \(Int(retryInitial))s, max: \(Int(retryMax))s}
          outputs:
            - authFile: {path: \(authFile)}
        """.write(toFile: dir.file("config.yaml"), atomically: true, encoding: .utf8)
        let port = try FreePort.pick()
        let sidecar = try Self.sidecar(
            ["--listen", "127.0.0.1:\(port)"], home: dir.path,
            environment: [
                "OCICRED_CONFIG": dir.file("config.yaml"), "AWS_ACCESS_KEY_ID": accessKey,
                "AWS_SECRET_ACCESS_KEY": secretKey, "AWS_ENDPOINT_URL_ECR": ecr.baseURL,
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": dir.file("no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": dir.file("no-aws-creds"), "OCICRED_LOG_LEVEL": "info",
            ])
        defer { sidecar.stop() }
        let readyz = "http://127.0.0.1:\(port)/readyz", metricsURL = "http://127.0.0.1:\(port)/metrics"
        func series(_ name: String) -> Double? { Self.metric(name, registry: ecrHost, in: Self.get(metricsURL).body) }
        try #require(Self.waitUntil(20) { Self.get(readyz).status == 200 }, "\(sidecar.log)")

        // Start the outage right after a refresh: the kept token then has almost all its 20 s left and expires
        // half-way through the outage.
        let firstExpiry = try #require(Self.status(authFile)[ecrHost])
        try #require(
            Self.waitUntil(15) { (Self.status(authFile)[ecrHost] ?? firstExpiry) != firstExpiry },
            "no refresh of a 20 s token within 15 s\n\(sidecar.log)")
        let outageStart = Date().timeIntervalSince1970
        let switched = try ProcessRunner.run(
            "curl", ["-s", "-X", "POST", ecr.baseURL + "/__outage?seconds=\(Int(outage))"])
        let answer = try JSONSerialization.jsonObject(with: switched.stdout) as? [String: Any]
        let outageEnd = try #require(answer?["until"] as? Double, "the fixture did not start the outage: \(switched)")
        let kept = try Data(contentsOf: URL(fileURLWithPath: authFile))
        let expiry = try #require(Self.status(authFile)[ecrHost])
        let mintsBefore = try ecr.counter("mint")
        let failuresBefore = try #require(series("ocicred_refresh_failures_total"), "no failures series in /metrics")
        try #require(
            expiry > outageStart + 12 && expiry < outageEnd - 10,
            "the kept token must expire well inside the outage, or this proves nothing: \(expiry - outageStart) s")

        var problems = [String]()
        var firstUnready: Double?
        var healthAfterExpiry: Int32?
        var failureSamples = [Double]()
        var largestBackoff = 0.0
        while Date().timeIntervalSince1970 < outageEnd - 0.5 {
            let at = String(format: "%.1f s into the outage", Date().timeIntervalSince1970 - outageStart)
            let bytes = FileManager.default.contents(atPath: authFile)
            if bytes != kept { problems.append("the auth file changed (\(bytes?.count ?? 0) bytes) \(at)") }
            let asked = Date().timeIntervalSince1970
            let ready = Self.get(readyz).status
            let answered = Date().timeIntervalSince1970
            switch ready {
            case 200 where asked > expiry + 0.05:
                problems.append("ready \(asked - expiry) s after the kept token expired")
            case 503 where answered < expiry - 0.05:
                problems.append("not ready \(expiry - answered) s before the kept token expires")
            case 503 where firstUnready == nil:
                firstUnready = answered
                healthAfterExpiry = try OcicredBinary.run(["health", "--file", authFile], home: dir.path).status
            case 200, 503: break
            default: problems.append("/readyz answered \(ready) \(at)")
            }
            let metrics = Self.get(metricsURL).body
            if let failures = Self.metric("ocicred_refresh_failures_total", registry: ecrHost, in: metrics) {
                failureSamples.append(failures)
            }
            largestBackoff = max(
                largestBackoff, Self.metric("ocicred_refresh_backoff_seconds", registry: ecrHost, in: metrics) ?? 0)
            usleep(100_000)
        }
        let mintsDuring = try ecr.counter("mint")
        #expect(problems.isEmpty, "\(problems.prefix(5))\n\(sidecar.log)")
        #expect(mintsDuring == mintsBefore, "the fixture minted during its own outage")
        // How soon it turned is the loop's check, per request and with no clock slack to tune: every /readyz asked
        // after the expiry must say 503, whatever the machine's load made the polling interval.
        #expect(firstUnready != nil, "/readyz never turned not-ready after the kept token expired")
        #expect(healthAfterExpiry == 1, "ocicred health --file after expiry: \(String(describing: healthAfterExpiry))")
        #expect(failureSamples == failureSamples.sorted(), "the failures counter went down: \(failureSamples)")
        #expect((failureSamples.last ?? 0) > failuresBefore, "failures \(failuresBefore) → \(failureSamples.last ?? 0)")
        // Doubling from 2 s reaches the 8 s cap by the third failure, and never passes it.
        #expect(
            largestBackoff >= retryMax * 0.9 && largestBackoff <= retryMax,
            "the backoff in /metrics peaked at \(largestBackoff) s, not at the \(retryMax) s cap")

        // Every refused call happened before the end of the outage; the backoff bounds how many there were.
        let untilEnd = outageEnd - Date().timeIntervalSince1970
        if untilEnd > 0 { Thread.sleep(forTimeInterval: untilEnd) }
        let attempts = try ecr.counter("unavailable")
        let most = Self.mostAttempts(in: outage, minInterval: minInterval, initial: retryInitial, cap: retryMax)
        #expect(
            (3...most).contains(attempts),
            "\(attempts) GetAuthorizationToken calls during a \(Int(outage)) s outage; the backoff allows 3...\(most)")

        // Back: the next retry, at most the backoff cap after the last refused one, writes a fresh token.
        let recovered = Self.waitUntil(retryMax + 4) { (Self.status(authFile)[ecrHost] ?? 0) > expiry }
        let recoveredAfter = Date().timeIntervalSince1970 - outageEnd
        try #require(recovered, "no fresh token \(recoveredAfter) s after the outage\n\(sidecar.log)")
        // The cap, plus 2 s for the mint, the write and this test's polling.
        #expect(recoveredAfter <= retryMax + 2, "a fresh token only \(recoveredAfter) s after the outage ended")
        #expect(try ecr.counter("mint") == mintsBefore + 1, "recovery should take one mint, not a burst")
        let fresh = FileManager.default.contents(atPath: authFile)
        let replaced = fresh != nil && fresh != kept
        #expect(replaced, "the auth file still holds the expired token")
        #expect(Self.authEntries(authFile)?[ecrHost] != nil)
        #expect(Self.waitUntil(2) { Self.get(readyz).status == 200 }, "not ready after recovery\n\(sidecar.log)")
        #expect(try OcicredBinary.run(["health", "--file", authFile], home: dir.path).status == 0)
        let metrics = Self.get(metricsURL).body
        let failuresAfter = Self.metric("ocicred_refresh_failures_total", registry: ecrHost, in: metrics)
        #expect(failuresAfter == failuresBefore + Double(attempts), "each refused call is one failure:\n\(metrics)")
        #expect(Self.metric("ocicred_refresh_backoff_seconds", registry: ecrHost, in: metrics) == 0, "\(metrics)")
        // Judged outside #expect, which would print the log it searched.
        let leaked = sidecar.log.contains("ecr-password-")
        #expect(!leaked, "a token's password in the sidecar's log")
        sidecar.signal(SIGTERM)
        #expect(sidecar.waitForExit() == 0, "\(leaked ? "<log withheld>" : sidecar.log)")
    }

    // MARK: Secrets and leader election

    /// Two replicas against the fixture API server with one Lease: only the leader writes the Secret; when it
    /// stops (SIGTERM releases the lease) the standby takes over and writes.
    @Test func withALeaseOnlyTheLeaderWritesTheSecret() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-kube")
        defer { dir.remove() }
        let kube = try KubeAPIServer(in: dir, token: "fixture-token")
        defer { kube.stop() }
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
        let first = try Self.sidecar(arguments + ["--identity", "replica-a"], home: dir.path, environment: environment)
        defer { first.stop() }
        try #require(Self.waitUntil(20) { first.log.contains("secret written") }, "\(first.log)")
        let second = try Self.sidecar(
            arguments + ["--identity", "replica-b"], home: dir.path, environment: environment)
        defer { second.stop() }
        Thread.sleep(forTimeInterval: 6)
        #expect(!second.log.contains("secret written"), "the standby wrote: \(second.log)")
        #expect(!second.log.contains("leading"))
        let secret = try ProcessRunner.run(
            "curl",
            [
                "-s", "--cacert", dir.file("ca.crt"),
                "\(kube.url)/__object?resource=secrets&namespace=ocicred&name=ocicred-pull",
            ])
        #expect(secret.stdoutText.contains("kubernetes.io/dockerconfigjson"), "\(secret)")

        first.signal(SIGTERM)
        #expect(first.waitForExit() == 0, "\(first.log)")
        #expect(Self.waitUntil(20) { second.log.contains("leading") }, "the standby never took over: \(second.log)")
        // The Secret already holds what the new leader would write (the controller writes only a change), so it
        // proves it leads by restoring the Secret once it is deleted.
        _ = try ProcessRunner.run(
            "curl",
            [
                "-s", "--cacert", dir.file("ca.crt"), "-X", "POST", "-H", "Content-Type: application/json",
                "--data-binary", #"{"resource":"secrets","namespace":"ocicred","name":"ocicred-pull"}"#,
                "\(kube.url)/__delete",
            ])
        #expect(
            Self.waitUntil(20) { second.log.contains("secret written") }, "the new leader did not write: \(second.log)")
        second.signal(SIGTERM)
        #expect(second.waitForExit() == 0)
    }
}
