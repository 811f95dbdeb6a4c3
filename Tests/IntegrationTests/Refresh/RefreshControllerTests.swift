import Foundation
import TestSupport
import Testing

/// `ocicred refresh` as the controller the refresh-deployment overlay runs, against the fixture API server that
/// speaks watch: it reacts to the cluster within 2 seconds, makes no call but its watches while nothing changes,
/// never overwrites a Secret it did not create, follows label selectors, and is not ready while a watch is down.
@Suite("refresh as a controller that watches", .serialized)
struct RefreshControllerTests {
    static let secretName = "ocicred-pull"
    static let registryHost = "registry.example:5000"
    static let reaction: TimeInterval = 2

    /// The fixture, a kubeconfig for it and a config; `start` runs the refresh with a health port.
    final class Controller: @unchecked Sendable {
        let directory: TemporaryDirectory
        let kube: KubeAPIServer
        let healthPort: Int
        var refresh: OcicredProcess?
        var caFile: String { kube.caFile }
        var url: String { kube.url }

        init(prefix: String, secretSettings: String) throws {
            directory = try TemporaryDirectory(prefix: prefix)
            kube = try KubeAPIServer(in: directory, token: "controller-token")
            healthPort = try FreePort.pick()
            try writeConfig(secretSettings)
        }

        func writeConfig(_ secretSettings: String, extraHost: String? = nil) throws {
            let extra = extraHost.map { "\n  - host: \($0)\n    credentials: [REG_USER, REG_PASS]" } ?? ""
            try """
            registries:
              - host: \(RefreshControllerTests.registryHost)
                credentials: [REG_USER, REG_PASS]\(extra)
            refresh:
              outputs:
                - secret:
                    name: \(RefreshControllerTests.secretName)
            \(secretSettings.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
            """.write(toFile: directory.file("config.yaml"), atomically: true, encoding: .utf8)
        }

        func start(_ arguments: [String] = []) throws {
            refresh = try RefreshSidecarTests.sidecar(
                ["--listen", "127.0.0.1:\(healthPort)"] + arguments, home: directory.path,
                environment: [
                    "OCICRED_CONFIG": directory.file("config.yaml"), "KUBECONFIG": directory.file("kubeconfig"),
                    "REG_USER": "controller-user", "REG_PASS": "controller-pass", "OCICRED_LOG_LEVEL": "info",
                ])
        }

        var log: String { refresh?.log ?? "" }

        func stop() {
            if let refresh {
                refresh.signal(SIGTERM)
                _ = refresh.waitForExit()
                refresh.stop()
            }
            kube.stop()
            directory.remove()
        }

        func ready() -> (status: Int, body: String) {
            RefreshSidecarTests.get("http://127.0.0.1:\(healthPort)/readyz")
        }

        func metrics() -> String { RefreshSidecarTests.get("http://127.0.0.1:\(healthPort)/metrics").body }

        @discardableResult
        func control(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any {
            try kube.control(method, path, body)
        }

        /// For the polling conditions, which cannot throw: a fixture that fails is recorded as an issue, so it
        /// never reads as "not there yet".
        func object(_ resource: String, _ namespace: String, _ name: String) -> [String: Any]? {
            do {
                return try kube.object(resource, namespace, name)
            } catch {
                Issue.record("the fixture API server: \(error)")
                return nil
            }
        }

        func secret(_ namespace: String) -> [String: Any]? { object("secrets", namespace, secretName) }

        func pullSecrets(_ namespace: String, _ account: String = "default") -> [String] {
            (object("serviceaccounts", namespace, account)?["imagePullSecrets"] as? [[String: String]] ?? [])
                .compactMap { $0["name"] }
        }

        /// Requests per "verb resource" since the last `/__calls/reset`.
        func callCounts() throws -> [String: Int] {
            var counts = [String: Int]()
            for entry in try #require(try control("GET", "/__call_counts") as? [[String: Any]]) {
                counts["\(entry["verb"] as? String ?? "") \(entry["resource"] as? String ?? "")"] =
                    entry["count"] as? Int ?? 0
            }
            return counts
        }

        /// Seconds until `condition` holds, or nil when it does not within `timeout`.
        func timeUntil(_ timeout: TimeInterval = 10, _ condition: () -> Bool) -> TimeInterval? {
            let started = Date()
            while Date().timeIntervalSince(started) < timeout {
                if condition() { return Date().timeIntervalSince(started) }
                usleep(20_000)
            }
            return nil
        }

        func waitReady() throws {
            let became = timeUntil(30) { ready().status == 200 }
            try #require(became != nil, "never ready: \(ready().body)\n\(log)")
        }
    }

    static func holdsOurCredential(_ secret: [String: Any]?) -> Bool {
        guard let secret, secret["type"] as? String == "kubernetes.io/dockerconfigjson",
            let encoded = (secret["data"] as? [String: String])?[".dockerconfigjson"],
            let json = Data(base64Encoded: encoded),
            let config = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
            let entry = (config["auths"] as? [String: Any])?[registryHost] as? [String: Any]
        else { return false }
        return entry["username"] as? String == "controller-user" && entry["password"] as? String == "controller-pass"
    }

    static func resourceVersion(_ object: [String: Any]?) -> String? {
        (object?["metadata"] as? [String: Any])?["resourceVersion"] as? String
    }

    @Test func itReactsWithinTwoSecondsAndCallsNothingButItsWatchesMeanwhile() throws {
        let controller = try Controller(
            prefix: "ocicred-controller",
            secretSettings: """
                namespaceSelector: {include: ["team-*"]}
                serviceAccounts: [default, builder]
                """)
        defer { controller.stop() }
        try controller.start()
        try controller.waitReady()
        #expect(Self.holdsOurCredential(controller.secret("team-a")))
        #expect(controller.pullSecrets("team-a") == [Self.secretName])
        #expect(controller.secret("default") == nil)
        try controller.control("POST", "/__calls/reset")

        // Nothing changes for 3 s: not one call (the watches opened before the reset stay open).
        Thread.sleep(forTimeInterval: 3)
        let quiet = try controller.callCounts()
        #expect(quiet.isEmpty, "\(quiet)")

        // A new namespace: its Secret and its default ServiceAccount within 2 s.
        try controller.control("POST", "/__namespaces", ["add": ["team-new"]])
        let namespaceReady = controller.timeUntil {
            Self.holdsOurCredential(controller.secret("team-new"))
                && controller.pullSecrets("team-new") == [Self.secretName]
        }
        #expect(namespaceReady.map { $0 <= Self.reaction } == true, "took \(namespaceReady ?? -1) s\n\(controller.log)")

        // A ServiceAccount it names, created later.
        try controller.control(
            "POST", "/__seed",
            ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "builder", "namespace": "team-new"]])
        let accountReady = controller.timeUntil { controller.pullSecrets("team-new", "builder") == [Self.secretName] }
        #expect(accountReady.map { $0 <= Self.reaction } == true, "took \(accountReady ?? -1) s")

        // A deleted Secret comes back.
        try controller.control(
            "POST", "/__delete", ["resource": "secrets", "namespace": "team-a", "name": Self.secretName])
        let restored = controller.timeUntil { Self.holdsOurCredential(controller.secret("team-a")) }
        #expect(restored.map { $0 <= Self.reaction } == true, "took \(restored ?? -1) s")

        // An edited one is put right; its label is kept, so it stays ours.
        var edited = try #require(controller.secret("team-b"))
        edited["data"] = [".dockerconfigjson": Data(#"{"auths":{}}"#.utf8).base64EncodedString()]
        try controller.control("POST", "/__seed", edited)
        let repaired = controller.timeUntil { Self.holdsOurCredential(controller.secret("team-b")) }
        #expect(repaired.map { $0 <= Self.reaction } == true, "took \(repaired ?? -1) s")

        // A ServiceAccount stripped of it gets it back; the entry someone else added stays.
        var account = try #require(controller.object("serviceaccounts", "team-a", "default"))
        account["imagePullSecrets"] = [["name": "someone-elses"]]
        try controller.control("POST", "/__seed", account)
        let repatched = controller.timeUntil {
            controller.pullSecrets("team-a") == ["someone-elses", Self.secretName]
        }
        #expect(
            repatched.map { $0 <= Self.reaction } == true,
            "took \(repatched ?? -1) s: \(controller.pullSecrets("team-a"))")

        // Each reaction was a write, never a read: no get of a Secret or ServiceAccount, no list.
        let counts = try controller.callCounts()
        #expect(counts["get secrets"] == nil && counts["get serviceaccounts"] == nil, "\(counts)")
        #expect(counts.keys.allSatisfy { !$0.hasPrefix("list") }, "\(counts)")
        #expect(counts["create secrets"] == 2, "team-new and the deleted one: \(counts)")
        #expect(counts["update secrets"] == 1, "\(counts)")
        #expect(counts["patch serviceaccounts"] == 3, "\(counts)")
        #expect(controller.metrics().contains("ocicred_refresh_reconcile_seconds_count"))
    }

    @Test func aRenewalWritesEachChangedSecretOnceWithoutReadingIt() throws {
        let settings = "namespaceSelector: {include: [\"team-*\"]}\nserviceAccounts: [default]"
        let controller = try Controller(prefix: "ocicred-controller-renew", secretSettings: settings)
        defer { controller.stop() }
        try controller.start()
        try controller.waitReady()
        try controller.control("POST", "/__calls/reset")
        // A reload that adds a registry changes every Secret's content: one PUT each (team-a, team-b), no GET.
        try controller.writeConfig(settings, extraHost: "second.example:5000")
        controller.refresh?.signal(SIGHUP)
        let rewritten = controller.timeUntil {
            ["team-a", "team-b"].allSatisfy { namespace in
                let data = (controller.secret(namespace)?["data"] as? [String: String])?[".dockerconfigjson"]
                return data.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }?
                    .contains("second.example:5000") == true
            }
        }
        #expect(rewritten != nil, "\(controller.log)")
        Thread.sleep(forTimeInterval: 1)
        let counts = try controller.callCounts()
        #expect(counts["update secrets"] == 2, "\(counts)")
        #expect(counts["get secrets"] == nil && counts["create secrets"] == nil, "\(counts)")
    }

    @Test func aSecretItDidNotCreateIsLeftAloneAndReportedOnce() throws {
        let controller = try Controller(
            prefix: "ocicred-controller-owner", secretSettings: "namespaceSelector: {include: [\"team-*\"]}")
        defer { controller.stop() }
        let foreign = try #require(
            try controller.control(
                "POST", "/__seed",
                [
                    "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
                    "metadata": ["name": Self.secretName, "namespace": "team-b"],
                    "data": [".dockerconfigjson": Data(#"{"auths":{"other.example":{}}}"#.utf8).base64EncodedString()],
                ]) as? [String: Any])
        try controller.start()
        try controller.waitReady()
        #expect(Self.holdsOurCredential(controller.secret("team-a")))
        // Another event in team-b (a new ServiceAccount) makes it look again; still untouched, reported once.
        try controller.control(
            "POST", "/__seed",
            ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "x", "namespace": "team-b"]])
        Thread.sleep(forTimeInterval: 1)
        #expect(Self.resourceVersion(controller.secret("team-b")) == Self.resourceVersion(foreign))
        let reports = controller.log.components(separatedBy: "is not ocicred's and is left untouched").count - 1
        #expect(reports == 1, "\(controller.log)")
        #expect(controller.metrics().contains(#"ocicred_refresh_conflicts_total{output="secret/ocicred-pull"} 1"#))
        let events = try #require(try controller.control("GET", "/__events") as? [[String: Any]])
        #expect(events.count == 1, "\(events)")
        let involved = events.first?["involvedObject"] as? [String: String]
        #expect(
            involved?["kind"] == "Secret" && involved?["namespace"] == "team-b" && involved?["name"] == Self.secretName)
        #expect(events.first?["type"] as? String == "Warning" && events.first?["reason"] as? String == "NotOwned")
        #expect(controller.ready().status == 200, "a conflict is reported, not a failure: \(controller.ready().body)")
    }

    @Test func labelSelectionFollowsNamespaceLabelsAndCleansUpAfterItself() throws {
        let controller = try Controller(
            prefix: "ocicred-controller-labels",
            secretSettings: """
                namespaceSelector:
                  matchLabels: {pull-secrets: ocicred}
                  matchExpressions: [{key: tier, operator: NotIn, values: [system]}]
                serviceAccounts: [default]
                """)
        defer { controller.stop() }
        try controller.start()
        try controller.waitReady()
        #expect(controller.secret("team-a") == nil)
        try controller.control("POST", "/__namespaces", ["labels": ["team-a": ["pull-secrets": "ocicred"]]])
        let selected = controller.timeUntil {
            Self.holdsOurCredential(controller.secret("team-a"))
                && controller.pullSecrets("team-a") == [Self.secretName]
        }
        #expect(selected.map { $0 <= Self.reaction } == true, "took \(selected ?? -1) s\n\(controller.log)")
        // matchExpressions: a system tier is excluded even with the label; what was written there goes.
        try controller.control("POST", "/__namespaces", ["labels": ["team-a": ["tier": "system"]]])
        let pruned = controller.timeUntil {
            controller.secret("team-a") == nil && controller.pullSecrets("team-a").isEmpty
        }
        #expect(pruned.map { $0 <= Self.reaction } == true, "took \(pruned ?? -1) s\n\(controller.log)")
        #expect(controller.secret("team-b") == nil)
    }

    @Test func readinessFailsWhileAWatchCannotBeEstablishedAndA410Relists() throws {
        let controller = try Controller(
            prefix: "ocicred-controller-ready", secretSettings: "namespaceSelector: {include: [\"team-*\"]}")
        defer { controller.stop() }
        try controller.start()
        try controller.waitReady()
        try controller.control("POST", "/__forbid", ["verb": "watch", "group": "", "resource": "namespaces"])
        try controller.control("POST", "/__watch/close")
        let unready = controller.timeUntil { controller.ready().status == 503 }
        #expect(unready != nil, "\(controller.ready().body)")
        #expect(controller.ready().body.contains("watch namespaces"), "\(controller.ready().body)")
        try controller.control("POST", "/__forbid/reset")
        #expect(controller.timeUntil(15) { controller.ready().status == 200 } != nil, "\(controller.ready().body)")
        #expect(
            controller.metrics().contains(
                #"ocicred_refresh_watch_restarts_total{resource="namespaces",reason="failed"}"#))

        // History compacted past every resume point: each watch gets 410, lists again, and still reacts.
        try controller.control("POST", "/__compact")
        #expect(
            controller.timeUntil { controller.metrics().contains(#"reason="expired""#) } != nil, "\(controller.log)")
        try controller.control("POST", "/__namespaces", ["add": ["team-after-compaction"]])
        let reacted = controller.timeUntil { Self.holdsOurCredential(controller.secret("team-after-compaction")) }
        #expect(reacted.map { $0 <= Self.reaction } == true, "took \(reacted ?? -1) s\n\(controller.log)")
    }

    /// The fixture authorizes every call as RBAC would with exactly the Roles, ClusterRoles and bindings the
    /// refresh-deployment overlay ships, per binding and namespace: the controller, run as that overlay runs it
    /// (its Secret name, ServiceAccounts, selector and Lease), gets everything done with no 403, and what the
    /// overlay does not grant (another Secret, Secrets unselected by name) is refused.
    @Test func theDeploymentOverlaysRBACIsEnoughForTheControllerAndNoMore() throws {
        let objects = try RenderedManifests.objects("refresh-deployment")
        let rbac = objects.filter {
            ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].contains(RenderedManifests.kind($0))
        }
        let deployment = try #require(objects.first { RenderedManifests.kind($0) == "Deployment" })
        let args = try #require(
            (RenderedManifests.podSpec(deployment)?["containers"] as? [[String: Any]])?.first?["args"] as? [String])
        let lease = try #require(args.firstIndex(of: "--leader-election-lease").map { args[$0 + 1] })
        let controller = try Controller(
            prefix: "ocicred-controller-rbac",
            secretSettings: """
                namespaceSelector: {include: ["*"], exclude: ["kube-*", "ocicred"]}
                serviceAccounts: [default]
                """)
        defer { controller.stop() }
        try controller.control(
            "POST", "/__rbac", ["objects": rbac, "namespace": "ocicred", "serviceAccount": "ocicred-refresh"])
        try controller.start(["--leader-election-lease", lease])
        try controller.waitReady()
        let written = controller.timeUntil {
            ["default", "team-a", "team-b"].allSatisfy {
                Self.holdsOurCredential(controller.secret($0)) && controller.pullSecrets($0) == [Self.secretName]
            }
        }
        #expect(written != nil, "\(controller.log)")
        try controller.control("POST", "/__namespaces", ["add": ["team-rbac"]])
        #expect(controller.timeUntil { Self.holdsOurCredential(controller.secret("team-rbac")) } != nil)
        #expect(!controller.log.contains("forbidden"), "\(controller.log)")
        #expect(controller.secret("ocicred") == nil && controller.secret("kube-system") == nil)

        // What the overlay does not grant is refused, with the API server's Forbidden Status.
        for path in [
            "/api/v1/namespaces/team-a/secrets/someone-elses", "/api/v1/secrets",
            "/api/v1/secrets?fieldSelector=metadata.name%3Dsomeone-elses", "/api/v1/serviceaccounts",
            "/apis/coordination.k8s.io/v1/namespaces/team-a/leases/\(lease)",
        ] {
            let result = try ProcessRunner.run(
                "curl",
                [
                    "-s", "-w", "\n%{http_code}", "--cacert", controller.caFile, "-H",
                    "Authorization: Bearer controller-token", controller.url + path,
                ])
            #expect(result.stdoutText.hasSuffix("\n403"), "\(path): \(result.stdoutText)")
            #expect(result.stdoutText.contains("system:serviceaccount:ocicred:ocicred-refresh"), "\(path)")
        }
    }

    static func authFileOnlyConfig(_ directory: TemporaryDirectory) -> String {
        """
        registries:
          - host: \(registryHost)
            credentials: [REG_USER, REG_PASS]
        refresh:
          outputs:
            - authFile: {path: \(directory.file("auth.json"))}
        """
    }

    /// A Secret output removed from the config (SIGHUP) takes what it wrote with it: its Secrets and its
    /// `imagePullSecrets` entries, the entries of others kept.
    @Test func removingTheOutputFromTheConfigRemovesWhatItWrote() throws {
        let controller = try Controller(
            prefix: "ocicred-controller-removed",
            secretSettings: "namespaceSelector: {include: [\"team-*\"]}\nserviceAccounts: [default]")
        defer { controller.stop() }
        try controller.control(
            "POST", "/__seed",
            [
                "apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "default", "namespace": "team-b"],
                "imagePullSecrets": [["name": "someone-elses"]],
            ])
        try controller.start()
        try controller.waitReady()
        #expect(controller.pullSecrets("team-b") == ["someone-elses", Self.secretName])
        try Self.authFileOnlyConfig(controller.directory).write(
            toFile: controller.directory.file("config.yaml"), atomically: true, encoding: .utf8)
        controller.refresh?.signal(SIGHUP)
        let removed = controller.timeUntil {
            ["team-a", "team-b"].allSatisfy { controller.secret($0) == nil }
                && controller.pullSecrets("team-a").isEmpty && controller.pullSecrets("team-b") == ["someone-elses"]
        }
        #expect(removed != nil, "\(controller.log)")
        #expect(controller.log.contains("config reloaded"))
    }

    /// A reload that adds a Secret output to a refresh started without one (so without Kubernetes access) says
    /// that, not "no outputs", is counted as a failed reload, and leaves the refresh ready. (That the old outputs
    /// are the ones still served is not observable here within a test's time: nothing is due.)
    @Test func aReloadAddingASecretWithoutKubernetesAccessSaysSo() throws {
        let controller = try Controller(prefix: "ocicred-controller-nokube", secretSettings: "")
        defer { controller.stop() }
        try Self.authFileOnlyConfig(controller.directory).write(
            toFile: controller.directory.file("config.yaml"), atomically: true, encoding: .utf8)
        try controller.start()
        try controller.waitReady()
        try controller.writeConfig("namespaces: [team-a]")
        controller.refresh?.signal(SIGHUP)
        let said = controller.timeUntil { controller.log.contains("config reload failed") }
        #expect(said != nil, "\(controller.log)")
        #expect(
            controller.log.contains("is a Secret, but this refresh started without Kubernetes access"),
            "\(controller.log)")
        #expect(!controller.log.contains("no outputs"), "\(controller.log)")
        #expect(controller.ready().status == 200, "still ready: \(controller.ready().body)")
        #expect(
            controller.metrics().contains(#"ocicred_refresh_config_reloads_total{result="failure"} 1"#),
            "\(controller.metrics())")
    }
}
