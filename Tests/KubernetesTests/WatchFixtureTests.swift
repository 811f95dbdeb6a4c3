import Foundation
import TestSupport
import Testing
import Transport

/// The fixture API server speaks watch as the API server does, proven by two real clients: the official Python
/// client's `watch.Watch().stream` and `kubectl get --watch`. A fixture that only our own client reads could
/// agree with a misreading; these two were written against the real API server.
@Suite(.serialized) struct WatchFixtureTests {
    struct Event: Hashable, CustomStringConvertible {
        let type: String
        let name: String
        let resourceVersion: String
        var description: String { "\(type) \(name)@\(resourceVersion)" }
    }

    /// `python_watch.py` (the official client) with the fixture's address, CA and token in its environment.
    static func pythonWatch(_ fixture: KubeAPIFixture, _ arguments: [String], timeout: Double = 60) async throws
        -> ProcessResult
    {
        var environment = ProcessInfo.processInfo.environment
        environment["KUBE_SERVER"] = fixture.url
        environment["KUBE_CA_FILE"] = fixture.caFile
        environment["KUBE_TOKEN"] = "fixture-token"
        environment["PYTHONPATH"] = FixtureServer.fixturesDirectory
        let script = FixtureServer.fixturesDirectory + "/python_watch.py"
        let childEnvironment = environment
        return try await background {
            try ProcessRunner.run("python3", [script] + arguments, environment: childEnvironment, timeout: timeout)
        }
    }

    /// `kubectl get RESOURCE --watch -o json --output-watch-events` against the fixture, with a kubeconfig of its
    /// own and a private HOME (kubectl's discovery cache).
    static func kubectlWatch(_ fixture: KubeAPIFixture, _ resource: String) async throws -> ProcessResult {
        let home = fixture.directory.file("kubectl-home")
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let kubeconfig = fixture.directory.file("kubeconfig")
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: fixture, cluster: {server: "\(fixture.url)", certificate-authority: "\(fixture.caFile)"}}]
        users: [{name: ocicred, user: {token: fixture-token}}]
        contexts: [{name: fixture, context: {cluster: fixture, user: ocicred}}]
        current-context: fixture
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let environment = ["HOME": home, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        return try await background {
            try ProcessRunner.run(
                "kubectl",
                ["--kubeconfig", kubeconfig, "get", resource, "--watch", "-o", "json", "--output-watch-events"],
                environment: environment, timeout: 60)
        }
    }

    static func background(_ body: @escaping @Sendable () throws -> ProcessResult) async throws -> ProcessResult {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    static func pythonEvents(_ result: ProcessResult) -> [Event] {
        result.stdoutText.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let type = object["type"] as? String
            else { return nil }
            return Event(
                type: type, name: object["name"] as? String ?? "",
                resourceVersion: object["resourceVersion"] as? String ?? "")
        }
    }

    /// kubectl prints each event as a JSON document (one line, or indented over several): parsed whenever the
    /// lines gathered so far end with `}`.
    static func kubectlEvents(_ result: ProcessResult) -> [Event] {
        var events = [Event](), current = ""
        for line in result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            guard line.hasSuffix("}"), (try? JSONSerialization.jsonObject(with: Data(current.utf8))) != nil else {
                continue
            }
            if let object = try? JSONSerialization.jsonObject(with: Data(current.utf8)) as? [String: Any],
                let type = object["type"] as? String,
                let metadata = (object["object"] as? [String: Any])?["metadata"]
                    as? [String: Any]
            {
                events.append(
                    Event(
                        type: type, name: metadata["name"] as? String ?? "",
                        resourceVersion: metadata["resourceVersion"] as? String ?? ""))
            }
            current = ""
        }
        return events
    }

    static func waitForWatches(_ fixture: KubeAPIFixture, _ count: Int) async throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let open = (try await fixture.control("GET", "/__watches") as? [String: Int])?["open"] ?? 0
            if open >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("fewer than \(count) watches opened within 30 s")
    }

    @Test func thePythonClientAndKubectlReadTheSameEventsFromOneStream() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        async let python = Self.pythonWatch(fixture, ["namespaces", "--timeout-seconds", "60"])
        async let kubectl = Self.kubectlWatch(fixture, "namespaces")
        try await Self.waitForWatches(fixture, 2)
        try await fixture.control("POST", "/__namespaces", ["add": ["watched"]])
        try await fixture.control("POST", "/__namespaces", ["labels": ["watched": ["team": "blue"]]])
        try await fixture.control("POST", "/__namespaces", ["remove": ["watched"]])
        try await Task.sleep(for: .milliseconds(500))
        try await fixture.control("POST", "/__watch/close")
        let (pythonResult, kubectlResult) = try await (python, kubectl)
        let fromPython = Self.pythonEvents(pythonResult)
        let fromKubectl = Self.kubectlEvents(kubectlResult)
        #expect(pythonResult.status == 0, "\(pythonResult)")
        let changes = fromPython.filter { $0.name == "watched" }
        #expect(changes.map(\.type) == ["ADDED", "MODIFIED", "DELETED"], "\(fromPython)")
        // Each change carries a newer resourceVersion than the one before.
        let versions = changes.compactMap { Int($0.resourceVersion) }
        #expect(versions.count == 3 && versions == versions.sorted() && Set(versions).count == 3, "\(changes)")
        // kubectl lists first, then watches from the list's resourceVersion: the same objects, the same changes.
        #expect(
            fromKubectl == fromPython, "kubectl: \(fromKubectl)\npython: \(fromPython)\n\(kubectlResult.stderrText)")
        #expect(fromPython.filter { $0.type == "ADDED" }.map(\.name).starts(with: ["default", "kube-system"]))
    }

    @Test func aWatchFromACompactedVersionEndsWithTheExpiredStatus() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        try await fixture.control("POST", "/__namespaces", ["add": ["before-compaction"]])
        try await fixture.control("POST", "/__compact")
        // The official client raises what the API server's 410 means to it (with timeout_seconds it does not
        // retry on its own).
        let result = try await Self.pythonWatch(
            fixture, ["namespaces", "--resource-version", "101", "--timeout-seconds", "5"])
        #expect(result.status == 3, "\(result)")
        let error = try #require(
            result.stdoutText.split(separator: "\n").last.flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            })
        #expect(error["error"] as? Int == 410)
        #expect((error["reason"] as? String)?.hasPrefix("Expired: too old resource version: 101") == true, "\(error)")

        // On the wire: 200, one ERROR event holding a Status, then the stream ends.
        var request = HTTPRequest(
            url: fixture.url + "/api/v1/namespaces?watch=true&resourceVersion=101", caFile: fixture.caFile)
        request.headers = [("Authorization", "Bearer fixture-token")]
        let response = try await fixture.http.send(request)
        #expect(response.status == 200)
        #expect(response.header("transfer-encoding") == "chunked")
        let lines = response.bodyText.split(separator: "\n")
        #expect(lines.count == 1)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(event["type"] as? String == "ERROR")
        let status = try #require(event["object"] as? [String: Any])
        #expect(status["kind"] as? String == "Status" && status["status"] as? String == "Failure")
        #expect(status["code"] as? Int == 410 && status["reason"] as? String == "Expired")
    }

    @Test func bookmarksCarryTheResourceVersionAndTimeoutSecondsEndsTheStream() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        try await fixture.control("POST", "/__watch", ["bookmarkSeconds": 0.3])
        let started = Date()
        async let python = Self.pythonWatch(
            fixture, ["namespaces", "--timeout-seconds", "2", "--bookmarks", "--resource-version", "101"])
        try await Self.waitForWatches(fixture, 1)
        try await fixture.control("POST", "/__namespaces", ["add": ["late"]])
        let result = try await python
        let elapsed = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result)")
        let events = Self.pythonEvents(result)
        let added = try #require(events.first { $0.name == "late" })
        #expect(added.type == "ADDED")
        // Only changes after 101 are replayed, then bookmarks, the last one at the newest resourceVersion.
        #expect(!events.contains { $0.name == "default" && $0.type == "ADDED" && $0.resourceVersion == "101" })
        let bookmarks = events.filter { $0.type == "BOOKMARK" }
        #expect(bookmarks.count >= 2, "\(events)")
        // (creating the namespace also created its `default` ServiceAccount: the newest version is that one's)
        #expect(Int(bookmarks.last?.resourceVersion ?? "") ?? 0 > Int(added.resourceVersion) ?? .max, "\(events)")
        #expect(elapsed < 15, "timeoutSeconds=2 should end the stream; it took \(elapsed) s")
    }

    @Test func badSelectorsAreRefusedAsTheAPIServerDoes() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        for (query, message) in [
            ("labelSelector=team%20in%20blue", "unable to parse requirement"),
            ("fieldSelector=spec.type%3DOpaque", "field label not supported: spec.type"),
        ] {
            var request = HTTPRequest(url: fixture.url + "/api/v1/secrets?" + query, caFile: fixture.caFile)
            request.headers = [("Authorization", "Bearer fixture-token")]
            let response = try await fixture.http.send(request)
            #expect(response.status == 400, "\(query)")
            #expect(response.bodyText.contains(message), "\(response.bodyText)")
        }
    }

    /// Leases allow no unconditional update: the API server refuses a PUT without `metadata.resourceVersion`,
    /// which is what keeps two replicas from both taking the lock.
    @Test func aLeaseUpdateWithoutResourceVersionIsRefused() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let path = "/apis/coordination.k8s.io/v1/namespaces/ocicred/leases"
        func send(_ method: String, _ url: String, _ body: [String: Any]) async throws -> HTTPResponse {
            var request = HTTPRequest(method: method, url: fixture.url + url, caFile: fixture.caFile)
            request.headers = [("Authorization", "Bearer fixture-token"), ("Content-Type", "application/json")]
            request.body = Array(try JSONSerialization.data(withJSONObject: body))
            return try await fixture.http.send(request)
        }
        let lease: [String: Any] = [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": ["name": "l", "namespace": "ocicred"], "spec": ["holderIdentity": "a"],
        ]
        #expect(try await send("POST", path, lease).status == 201)
        let response = try await send("PUT", path + "/l", lease)
        #expect(response.status == 422, "\(response.bodyText)")
        #expect(response.bodyText.contains("metadata.resourceVersion"))
        let stored = try #require(try await fixture.object("leases", "ocicred", "l"))
        #expect((stored["spec"] as? [String: Any])?["holderIdentity"] as? String == "a")
    }
}
