import Foundation
import TestSupport
import Testing

/// `ocicred webhook` as the webhook overlay runs it, against the fixture API server enforcing the overlay's own RBAC
/// and holding the overlay's MutatingWebhookConfiguration: AdmissionReviews shaped as the API server sends them go
/// over TLS through curl, which verifies the serving certificate against the `caBundle` read back from that
/// configuration and the Service's DNS name; the patch is applied with a real JSON Patch library (PyPI jsonpatch)
/// and the patched Pod validated by `kubernetes-validate`.
@Suite("the admission webhook", .serialized)
struct WebhookTests {
    static let namespace = "ocicred-webhook"
    static let service = "ocicred-webhook"
    static let secretName = "ocicred-pull"
    static let tlsSecret = "ocicred-webhook-tls"
    static var host: String { "\(service).\(namespace).svc" }

    final class Webhook: @unchecked Sendable {
        let directory: TemporaryDirectory
        let server: FixtureServer
        let port: Int
        var process: RefreshSidecarTests.Sidecar?
        var url: String { "https://127.0.0.1:\(server.port)" }
        var fixtureCA: String { directory.file("ca.crt") }

        init(prefix: String) throws {
            directory = try TemporaryDirectory(prefix: prefix)
            server = try FixtureServer(
                script: "kube_apiserver.py", arguments: ["--tls-dir", directory.path],
                environment: ["KUBE_FIXTURE_TOKENS": "webhook-token"])
            port = try FreePort.pick()
            try """
            apiVersion: v1
            kind: Config
            current-context: test
            clusters: [{name: c, cluster: {server: "\(url)", certificate-authority: "\(fixtureCA)"}}]
            users: [{name: u, user: {token: webhook-token}}]
            contexts: [{name: test, context: {cluster: c, user: u, namespace: \(WebhookTests.namespace)}}]
            """.write(toFile: directory.file("kubeconfig"), atomically: true, encoding: .utf8)
            let objects = try RenderedManifests.objects("webhook")
            let config = try #require(RenderedManifests.configMapFile(objects, prefix: "ocicred-webhook-config"))
            try config.write(toFile: directory.file("config.yaml"), atomically: true, encoding: .utf8)
            try control("POST", "/__namespaces", ["add": [WebhookTests.namespace, "team-c"]])
            let configuration = try #require(
                objects.first { RenderedManifests.kind($0) == "MutatingWebhookConfiguration" })
            try seed(configuration)
            // From here on every call is authorized as the API server would for the overlay's ServiceAccount.
            let rbac = objects.filter {
                ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].contains(RenderedManifests.kind($0))
            }
            try control(
                "POST", "/__rbac",
                ["objects": rbac, "namespace": WebhookTests.namespace, "serviceAccount": "ocicred-webhook"])
        }

        func start(checkInterval: Int = 3600, extra: [String] = [], trusting: String? = nil) throws {
            process = try RefreshSidecarTests.Sidecar(
                [
                    "--listen", "127.0.0.1:\(port)", "--service", WebhookTests.service, "--tls-secret",
                    WebhookTests.tlsSecret, "--webhook-configuration", "ocicred-webhook", "--check-interval",
                    "\(checkInterval)",
                ] + extra, home: directory.path,
                environment: [
                    "OCICRED_CONFIG": directory.file("config.yaml"), "KUBECONFIG": directory.file("kubeconfig"),
                    "OCICRED_LOG_LEVEL": "info",
                ], command: "webhook")
            let up = RefreshSidecarTests.waitUntil(20) {
                if let trusting { return healthz(trusting: trusting) == 200 }
                return (try? writeCABundle()) != nil && healthz(trusting: directory.file("bundle.pem")) == 200
            }
            try #require(up, "the webhook never served: \(log)")
        }

        func restart(checkInterval: Int = 3600) throws {
            stopWebhook()
            try start(checkInterval: checkInterval)
        }

        var log: String { process?.log ?? "" }

        func stopWebhook() {
            guard let process else { return }
            process.signal(SIGTERM)
            #expect(process.waitForExit() == 0, "\(log)")
            process.stop()
            self.process = nil
        }

        func stop() {
            process?.stop()
            server.stop()
            directory.remove()
        }

        @discardableResult
        func control(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any? {
            var arguments = ["-s", "--cacert", fixtureCA, "-X", method, url + path]
            if let body {
                let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
                arguments += ["-H", "Content-Type: application/json", "--data-binary", json]
            }
            let result = try ProcessRunner.run("curl", arguments)
            return try? JSONSerialization.jsonObject(with: result.stdout, options: [.fragmentsAllowed])
        }

        func seed(_ object: [String: Any]) throws {
            let answer = try control("POST", "/__seed", object) as? [String: Any]
            try #require(answer?["kind"] as? String == object["kind"] as? String, "not seeded: \(answer ?? [:])")
        }

        func object(_ resource: String, _ namespace: String, _ name: String) -> [String: Any]? {
            let answer = try? control("GET", "/__object?resource=\(resource)&namespace=\(namespace)&name=\(name)")
            guard let object = answer as? [String: Any], object["kind"] as? String != "Status" else { return nil }
            return object
        }

        /// The caBundle of the fixture's MutatingWebhookConfiguration, PEM.
        func caBundle() -> String? {
            let configuration = object("mutatingwebhookconfigurations", "", "ocicred-webhook")
            let hook = (configuration?["webhooks"] as? [[String: Any]])?.first
            let encoded = (hook?["clientConfig"] as? [String: Any])?["caBundle"] as? String
            return encoded.flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) }
        }

        func tlsData() -> [String: String] {
            let data = object("secrets", WebhookTests.namespace, WebhookTests.tlsSecret)?["data"] as? [String: String]
            return (data ?? [:]).compactMapValues {
                Data(base64Encoded: $0).map { String(decoding: $0, as: UTF8.self) }
            }
        }

        /// Writes the configuration's caBundle to bundle.pem, as a client of the API server's would trust it.
        func writeCABundle() throws {
            // Polled while the webhook starts: a missing caBundle is thrown, not recorded as an issue.
            guard let bundle = caBundle() else {
                throw FixtureError.notListening(program: "ocicred webhook (no caBundle yet)", port: port, log: log)
            }
            try bundle.write(toFile: directory.file("bundle.pem"), atomically: true, encoding: .utf8)
        }

        /// curl to the webhook by its Service name (resolved to 127.0.0.1), trusting only `caFile`.
        func curl(_ path: String, trusting caFile: String, body: Data? = nil) throws -> ProcessResult {
            var arguments = [
                "-s", "-m", "5", "--cacert", caFile, "--resolve", "\(WebhookTests.host):\(port):127.0.0.1",
                "-w", "\n%{http_code}", "https://\(WebhookTests.host):\(port)\(path)",
            ]
            if let body {
                let file = directory.file("review-\(UUID().uuidString.prefix(8)).json")
                try body.write(to: URL(fileURLWithPath: file))
                arguments += ["-H", "Content-Type: application/json", "--data-binary", "@" + file]
            }
            return try ProcessRunner.run("curl", arguments)
        }

        func healthz(trusting caFile: String) -> Int {
            guard let result = try? curl("/healthz", trusting: caFile), result.status == 0 else { return 0 }
            return Int(result.stdoutText.split(separator: "\n").last ?? "") ?? 0
        }

        /// POSTs `review` and returns the HTTP status and the body.
        func post(_ review: Data) throws -> (status: Int, body: Data) {
            try writeCABundle()
            let result = try curl("/mutate", trusting: directory.file("bundle.pem"), body: review)
            try #require(result.status == 0, "curl failed: \(result.stderrText)")
            var lines = result.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
            let code = Int(lines.removeLast()) ?? 0
            return (code, Data(lines.joined(separator: "\n").utf8))
        }

        /// Admits `pod` in `namespace`: the response (uid checked) and the Pod with its patch applied by jsonpatch.
        func admit(_ pod: [String: Any], in namespace: String) throws -> (response: [String: Any], pod: [String: Any]) {
            let uid = UUID().uuidString.lowercased()
            let (status, body) = try post(
                try JSONSerialization.data(withJSONObject: WebhookTests.review(pod, namespace: namespace, uid: uid)))
            try #require(status == 200, "\(status): \(String(decoding: body, as: UTF8.self))\n\(log)")
            let review = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
            #expect(review["apiVersion"] as? String == "admission.k8s.io/v1")
            #expect(review["kind"] as? String == "AdmissionReview")
            let response = try #require(review["response"] as? [String: Any])
            #expect(response["uid"] as? String == uid)
            #expect(response["allowed"] as? Bool == true)
            guard let encoded = response["patch"] as? String else {
                #expect(response["patchType"] == nil)
                return (response, pod)
            }
            #expect(response["patchType"] as? String == "JSONPatch")
            let patch = try #require(Data(base64Encoded: encoded))
            return (response, try apply(patch, to: pod))
        }

        func apply(_ patch: Data, to pod: [String: Any]) throws -> [String: Any] {
            let podFile = directory.file("pod.json")
            let patchFile = directory.file("patch.json")
            try JSONSerialization.data(withJSONObject: pod).write(to: URL(fileURLWithPath: podFile))
            try patch.write(to: URL(fileURLWithPath: patchFile))
            let result = try ProcessRunner.run(
                "python3",
                [
                    "-c",
                    "import json, sys, jsonpatch; print(json.dumps(jsonpatch.apply_patch("
                        + "json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))))",
                    podFile, patchFile,
                ])
            try #require(result.status == 0, "jsonpatch refused the patch: \(result.stderrText)")
            return try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        }

        /// `kubernetes-validate --strict` over the Pods, each as the object the API server would store.
        func validate(_ pods: [[String: Any]]) throws {
            try FixtureError.requirePrograms([
                "kubernetes-validate": "kubernetes-validate (PyPI; helpers/test installs it)"
            ])
            var files: [String] = []
            for (index, pod) in pods.enumerated() {
                var named = pod
                var metadata = named["metadata"] as? [String: Any] ?? [:]
                metadata["name"] = (metadata["generateName"] as? String ?? "pod-") + "x\(index)"
                named["metadata"] = metadata
                let file = directory.file("validate-\(index).json")
                try JSONSerialization.data(withJSONObject: named).write(to: URL(fileURLWithPath: file))
                files.append(file)
            }
            let result = try ProcessRunner.run(
                "kubernetes-validate", ["--strict", "--kubernetes-version", "1.32.0", "--quiet"] + files, timeout: 120)
            #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        }
    }

    /// The projected token volume the ServiceAccount admission plugin adds before webhooks see the Pod.
    static var tokenVolume: [String: Any] {
        [
            "name": "kube-api-access-x7k2p",
            "projected": [
                "defaultMode": 420,
                "sources": [
                    ["serviceAccountToken": ["expirationSeconds": 3607, "path": "token"]],
                    [
                        "configMap": [
                            "name": "kube-root-ca.crt", "items": [["key": "ca.crt", "path": "ca.crt"]],
                        ]
                    ],
                ],
            ],
        ]
    }

    /// A ReplicaSet's Pod as the API server hands it to mutating webhooks: generateName and no name, defaults
    /// filled in, the ServiceAccount admission plugin's token volume and serviceAccountName already set.
    static func pod(
        namespace: String, serviceAccount: String = "default", pullSecrets: [String]? = nil
    ) -> [String: Any] {
        var spec: [String: Any] = [
            "containers": [
                [
                    "name": "web", "image": "registry.example.com/team/web:1.4",
                    "ports": [["containerPort": 8080, "protocol": "TCP"]],
                    "resources": ["requests": ["cpu": "10m", "memory": "32Mi"]],
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                    "volumeMounts": [
                        [
                            "name": "kube-api-access-x7k2p", "readOnly": true,
                            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                        ]
                    ],
                ]
            ],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": serviceAccount, "serviceAccount": serviceAccount, "securityContext": [:],
            "schedulerName": "default-scheduler", "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "tolerations": [
                [
                    "key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                    "tolerationSeconds": 300,
                ]
            ],
            "volumes": [Self.tokenVolume],
        ]
        if let pullSecrets { spec["imagePullSecrets"] = pullSecrets.map { ["name": $0] } }
        return [
            "kind": "Pod", "apiVersion": "v1",
            "metadata": [
                "generateName": "web-7d4b9c6f8-", "namespace": namespace,
                "labels": ["app": "web", "pod-template-hash": "7d4b9c6f8"],
                "ownerReferences": [
                    [
                        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d4b9c6f8",
                        "uid": "0e3c1c1e-8d0b-4a53-9a3e-1f0b7d2f6a11", "controller": true, "blockOwnerDeletion": true,
                    ]
                ],
            ],
            "spec": spec,
            "status": ["phase": "Pending", "qosClass": "Burstable"],
        ]
    }

    /// An AdmissionReview as kube-apiserver sends it for a Pod CREATE (admission.k8s.io/v1 AdmissionRequest).
    static func review(_ pod: [String: Any], namespace: String, uid: String) -> [String: Any] {
        let kind = ["group": "", "version": "v1", "kind": "Pod"]
        let resource = ["group": "", "version": "v1", "resource": "pods"]
        return [
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": [
                "uid": uid, "kind": kind, "resource": resource, "requestKind": kind, "requestResource": resource,
                "namespace": namespace, "operation": "CREATE",
                "userInfo": [
                    "username": "system:serviceaccount:kube-system:replicaset-controller",
                    "uid": "5a1c9b0e-2f3d-4d1e-8c6b-7e9f0a1b2c3d",
                    "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
                ],
                "object": pod, "oldObject": NSNull(), "dryRun": false,
                "options": ["kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"],
            ],
        ]
    }

    static func pullSecrets(_ pod: [String: Any]) -> [String]? {
        ((pod["spec"] as? [String: Any])?["imagePullSecrets"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
    }

    /// Everything of the Pod but `spec.imagePullSecrets`, to show nothing else changed.
    static func withoutPullSecrets(_ pod: [String: Any]) -> NSDictionary {
        var copy = pod
        var spec = copy["spec"] as? [String: Any] ?? [:]
        spec["imagePullSecrets"] = nil
        copy["spec"] = spec
        return copy as NSDictionary
    }

    @Test func aPodWithoutPullSecretsGetsOursAndNothingElseChanges() throws {
        let webhook = try Webhook(prefix: "ocicred-webhook-add")
        defer { webhook.stop() }
        try webhook.start()
        let pod = Self.pod(namespace: "team-a")
        let (response, patched) = try webhook.admit(pod, in: "team-a")
        #expect(response["patch"] != nil)
        #expect(Self.pullSecrets(patched) == [Self.secretName])
        #expect(Self.withoutPullSecrets(patched) == Self.withoutPullSecrets(pod))

        // Other entries are kept, in their order, ours after them.
        let listed = Self.pod(namespace: "team-b", pullSecrets: ["team-registry", "mirror"])
        let (_, appended) = try webhook.admit(listed, in: "team-b")
        #expect(Self.pullSecrets(appended) == ["team-registry", "mirror", Self.secretName])
        #expect(Self.withoutPullSecrets(appended) == Self.withoutPullSecrets(listed))
        try webhook.validate([patched, appended])
    }

    @Test func noPatchWhereTheSecretIsAlreadyThereOrNotWanted() throws {
        let webhook = try Webhook(prefix: "ocicred-webhook-skip")
        defer { webhook.stop() }
        try webhook.seed([
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": ["name": "builder", "namespace": "team-a"],
            "imagePullSecrets": [["name": Self.secretName]],
        ])
        try webhook.start()
        // The ServiceAccount already carries it.
        let (carried, _) = try webhook.admit(Self.pod(namespace: "team-a", serviceAccount: "builder"), in: "team-a")
        #expect(carried["patch"] == nil, "\(carried)")
        // The Pod lists it already.
        let (listed, _) = try webhook.admit(
            Self.pod(namespace: "team-a", pullSecrets: ["mirror", Self.secretName]), in: "team-a")
        #expect(listed["patch"] == nil, "\(listed)")
        // Namespaces the config's selector leaves out (kube-*, the webhook's own).
        for namespace in ["kube-system", Self.namespace] {
            let (outside, _) = try webhook.admit(Self.pod(namespace: namespace), in: namespace)
            #expect(outside["patch"] == nil, "\(namespace): \(outside)")
        }
        // A ServiceAccount created after start: the watch, not a GET, tells the webhook within 2 s.
        try webhook.seed([
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": ["name": "deployer", "namespace": "team-c"],
            "imagePullSecrets": [["name": Self.secretName]],
        ])
        let seen = RefreshSidecarTests.waitUntil(2) {
            (try? webhook.admit(Self.pod(namespace: "team-c", serviceAccount: "deployer"), in: "team-c"))?
                .response["patch"] == nil
        }
        #expect(seen, "\(webhook.log)")
        // Its neighbour without the Secret still gets it.
        let (neighbour, _) = try webhook.admit(Self.pod(namespace: "team-c"), in: "team-c")
        #expect(neighbour["patch"] != nil)
    }

    @Test func aMalformedReviewIsA400AndTheWebhookKeepsServing() throws {
        let webhook = try Webhook(prefix: "ocicred-webhook-bad")
        defer { webhook.stop() }
        try webhook.start()
        var noUID = Self.review(Self.pod(namespace: "team-a"), namespace: "team-a", uid: "x")
        noUID["request"] = (noUID["request"] as? [String: Any])?.filter { $0.key != "uid" }
        var v1beta1 = Self.review(Self.pod(namespace: "team-a"), namespace: "team-a", uid: "y")
        v1beta1["apiVersion"] = "admission.k8s.io/v1beta1"
        let cases: [(Data, String)] = [
            (Data("{\"apiVersion\": \"admission.k8s.io/v1\", ".utf8), "not a JSON object"),
            (try JSONSerialization.data(withJSONObject: noUID), "no request.uid"),
            (try JSONSerialization.data(withJSONObject: v1beta1), "admissionReviewVersions: [v1]"),
            (Data("[]".utf8), "not a JSON object"),
        ]
        for (body, message) in cases {
            let (status, answer) = try webhook.post(body)
            #expect(status == 400, "\(String(decoding: answer, as: UTF8.self))")
            #expect(
                String(decoding: answer, as: UTF8.self).contains(message), "\(String(decoding: answer, as: UTF8.self))")
        }
        #expect(
            webhook.log.components(separatedBy: "refused a webhook request").count - 1 == cases.count, "\(webhook.log)")
        let (response, patched) = try webhook.admit(Self.pod(namespace: "team-a"), in: "team-a")
        #expect(response["patch"] != nil && Self.pullSecrets(patched) == [Self.secretName])
    }

    @Test func theCertificateLivesInItsSecretAcrossRestartsAndOnlyItsCAIsTrusted() throws {
        let webhook = try Webhook(prefix: "ocicred-webhook-cert")
        defer { webhook.stop() }
        try webhook.start()
        let issued = webhook.tlsData()
        #expect(Set(issued.keys) == ["tls.crt", "tls.key", "ca.crt"])
        #expect(webhook.object("secrets", Self.namespace, Self.tlsSecret)?["type"] as? String == "kubernetes.io/tls")
        #expect(webhook.caBundle() == issued["ca.crt"])
        let version = WebhookTests.resourceVersion(webhook.object("secrets", Self.namespace, Self.tlsSecret))
        let bundleVersion = WebhookTests.resourceVersion(
            webhook.object("mutatingwebhookconfigurations", "", "ocicred-webhook"))

        // Another CA (the fixture API server's) completes no handshake; the webhook keeps serving.
        let untrusted = try webhook.curl("/healthz", trusting: webhook.fixtureCA)
        #expect(untrusted.status == 60, "curl: \(untrusted.status) \(untrusted.stderrText)")
        #expect(webhook.healthz(trusting: webhook.directory.file("bundle.pem")) == 200)

        // A restart serves the stored certificate: nothing rewritten, the caBundle untouched.
        try webhook.restart()
        #expect(webhook.tlsData() == issued)
        #expect(WebhookTests.resourceVersion(webhook.object("secrets", Self.namespace, Self.tlsSecret)) == version)
        #expect(
            WebhookTests.resourceVersion(webhook.object("mutatingwebhookconfigurations", "", "ocicred-webhook"))
                == bundleVersion)
    }

    @Test func aNearExpiryCertificateIsReplacedAndTheCABundleFollows() throws {
        let webhook = try Webhook(prefix: "ocicred-webhook-rotate")
        defer { webhook.stop() }
        try webhook.start(checkInterval: 1)
        let first = webhook.tlsData()
        // Someone (a replica from a year ago) left a certificate with one day to live.
        let old = try Self.selfSignedCertificate(days: 1, in: webhook.directory)
        try webhook.seed([
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": ["name": Self.tlsSecret, "namespace": Self.namespace],
            "data": [
                "tls.crt": Data(old.certificate.utf8).base64EncodedString(),
                "tls.key": Data(old.key.utf8).base64EncodedString(),
                "ca.crt": Data(old.certificate.utf8).base64EncodedString(),
            ],
        ])
        let rotated = RefreshSidecarTests.waitUntil(10) {
            let now = webhook.tlsData()
            // The replaced CA stays trusted beside the new one: another replica may still serve what it signed.
            return now["ca.crt"] != nil && now["ca.crt"] != old.certificate && now != first
                && now["ca-previous.crt"] == old.certificate
                && webhook.caBundle() == (now["ca.crt"] ?? "") + old.certificate
        }
        #expect(rotated, "\(webhook.tlsData().keys) \(webhook.log)")
        // The new CA is what the webhook now serves with, for a year.
        let served = RefreshSidecarTests.waitUntil(5) {
            (try? webhook.writeCABundle()) != nil
                && webhook.healthz(trusting: webhook.directory.file("bundle.pem")) == 200
        }
        #expect(served)
        let expiry = try ProcessRunner.run(
            "openssl", ["x509", "-noout", "-checkend", "\(300 * 86_400)", "-in", webhook.directory.file("bundle.pem")])
        #expect(expiry.status == 0, "\(expiry.stdoutText)")
        #expect(webhook.log.contains("rotated the webhook's serving certificate"), "\(webhook.log)")
    }

    /// The fixture holds MutatingWebhookConfigurations to the API server's validation, so the overlay's passing
    /// it (every test seeds it) means something: each of these is what kube-apiserver refuses.
    @Test func theFixtureRefusesTheWebhookConfigurationsTheAPIServerRefuses() throws {
        let webhook = try Webhook(prefix: "ocicred-webhook-fixture")
        defer { webhook.stop() }
        let objects = try RenderedManifests.objects("webhook")
        let valid = try #require(objects.first { RenderedManifests.kind($0) == "MutatingWebhookConfiguration" })
        func broken(_ change: (inout [String: Any]) -> Void) -> [String: Any] {
            var hook = (valid["webhooks"] as? [[String: Any]])?.first ?? [:]
            change(&hook)
            var copy = valid
            copy["webhooks"] = [hook]
            return copy
        }
        let cases: [(String, [String: Any], String)] = [
            ("a two-segment name", broken { $0["name"] = "ocicred.dev" }, "at least three segments"),
            ("no sideEffects", broken { $0["sideEffects"] = nil }, "sideEffects"),
            ("sideEffects Some", broken { $0["sideEffects"] = "Some" }, "sideEffects"),
            ("no v1 review", broken { $0["admissionReviewVersions"] = ["v2"] }, "admissionReviewVersions"),
            ("a 31 s timeout", broken { $0["timeoutSeconds"] = 31 }, "between 1 and 30"),
            (
                "both url and service",
                broken {
                    var config = $0["clientConfig"] as? [String: Any] ?? [:]
                    config["url"] = "https://example.com/mutate"
                    $0["clientConfig"] = config
                }, "exactly one of url or service"
            ),
            ("an unknown field", broken { $0["failurePolcy"] = "Ignore" }, "unknown field"),
        ]
        for (what, object, message) in cases {
            let answer = try webhook.control("POST", "/__seed", object) as? [String: Any]
            #expect(answer?["kind"] as? String == "Status", "\(what) was accepted")
            #expect((answer?["message"] as? String ?? "").contains(message), "\(what): \(answer ?? [:])")
        }
        // An update naming an old resourceVersion is a 409 Conflict, as for every object with optimistic locking.
        var stale = try #require(webhook.object("mutatingwebhookconfigurations", "", "ocicred-webhook"))
        try webhook.seed(valid)
        var metadata = stale["metadata"] as? [String: Any] ?? [:]
        metadata["labels"] = ["touched": "yes"]
        stale["metadata"] = metadata
        let result = try ProcessRunner.run(
            "curl",
            [
                "-s", "-w", "\n%{http_code}", "--cacert", webhook.fixtureCA, "-X", "PUT", "-H",
                "Authorization: Bearer webhook-token", "-H", "Content-Type: application/json", "--data-binary",
                String(decoding: try JSONSerialization.data(withJSONObject: stale), as: UTF8.self),
                webhook.url + "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/ocicred-webhook",
            ])
        #expect(result.stdoutText.hasSuffix("\n409"), "\(result.stdoutText)")
    }

    /// Each reason not to serve is reported with what to do, and the process exits instead of serving without a
    /// trusted certificate or anything to add; a Secret of another type at the certificate's name is left as it is.
    @Test func whatKeepsItFromServingIsReportedAndNothingIsOverwritten() throws {
        let webhook = try Webhook(prefix: "ocicred-webhook-refuse")
        defer { webhook.stop() }
        let home = webhook.directory.path
        func run(_ arguments: [String], config: String? = nil) throws -> ProcessResult {
            try OcicredBinary.run(
                ["webhook", "--listen", "127.0.0.1:\(webhook.port)"] + arguments, home: home,
                extraEnvironment: [
                    "OCICRED_CONFIG": config ?? webhook.directory.file("config.yaml"),
                    "KUBECONFIG": webhook.directory.file("kubeconfig"),
                ], timeout: 30)
        }
        let authFileOnly = webhook.directory.file("authfile-only.yaml")
        try "registries:\n  - host: r.example\nrefresh:\n  outputs:\n    - authFile: {path: /tmp/x/auth.json}\n"
            .write(toFile: authFileOnly, atomically: true, encoding: .utf8)
        let noOutput = try run([], config: authFileOnly)
        #expect(noOutput.status == 2 && noOutput.stderrText.contains("has no `secret:` output"), "\(noOutput)")

        let badListen = try run(["--listen", "8443"])
        #expect(badListen.status == 1 && badListen.stderrText.contains("is not host:port"), "\(badListen)")

        let otherService = try run(["--service", "another"])
        #expect(
            otherService.status == 1 && otherService.stderrText.contains("has no webhook calling the Service"),
            "\(otherService)")
        // The overlay's RBAC grants its own configuration and Secret only: another name is refused first.
        let forbidden = try run(["--webhook-configuration", "absent"])
        #expect(
            forbidden.status == 1 && forbidden.stderrText.contains("not allowed to get mutatingwebhookconfigurations"),
            "\(forbidden)")
        try webhook.control("POST", "/__rbac", ["objects": NSNull(), "namespace": "", "serviceAccount": ""])
        let missing = try run(["--webhook-configuration", "absent"])
        #expect(missing.status == 1 && missing.stderrText.contains("absent not found"), "\(missing)")

        try webhook.seed([
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": ["name": "someone-elses", "namespace": Self.namespace], "data": ["k": "dg=="],
        ])
        let before = webhook.object("secrets", Self.namespace, "someone-elses")
        let taken = try run(["--tls-secret", "someone-elses"])
        #expect(taken.status == 1 && taken.stderrText.contains("already exists with type Opaque"), "\(taken)")
        #expect(
            NSDictionary(dictionary: webhook.object("secrets", Self.namespace, "someone-elses") ?? [:])
                == NSDictionary(dictionary: before ?? ["": 0]))
    }

    /// With cert-manager: the mounted Secret's certificate is served, re-read when the kubelet replaces the files,
    /// and ocicred writes neither a Secret nor the caBundle (cert-manager's cainjector keeps that).
    @Test func aMountedCertManagerCertificateIsServedAndReloaded() throws {
        let webhook = try Webhook(prefix: "ocicred-webhook-mounted")
        defer { webhook.stop() }
        let mounted = webhook.directory.file("mounted")
        try FileManager.default.createDirectory(atPath: mounted, withIntermediateDirectories: true)
        func mount(_ issued: (certificate: String, key: String)) throws {
            try issued.certificate.write(toFile: mounted + "/tls.crt", atomically: true, encoding: .utf8)
            try issued.key.write(toFile: mounted + "/tls.key", atomically: true, encoding: .utf8)
            try issued.certificate.write(toFile: mounted + "/ca.crt", atomically: true, encoding: .utf8)
        }
        let first = try Self.selfSignedCertificate(days: 90, in: webhook.directory)
        try mount(first)
        try first.certificate.write(toFile: webhook.directory.file("first.pem"), atomically: true, encoding: .utf8)
        try webhook.start(
            checkInterval: 1, extra: ["--certificate-dir", mounted], trusting: webhook.directory.file("first.pem"))
        #expect(webhook.object("secrets", Self.namespace, Self.tlsSecret) == nil)
        #expect(webhook.caBundle() == nil)

        let renewed = try Self.selfSignedCertificate(days: 90, in: webhook.directory)
        try renewed.certificate.write(toFile: webhook.directory.file("renewed.pem"), atomically: true, encoding: .utf8)
        try mount(renewed)
        let reloaded = RefreshSidecarTests.waitUntil(10) {
            webhook.healthz(trusting: webhook.directory.file("renewed.pem")) == 200
        }
        #expect(reloaded, "\(webhook.log)")
        #expect(webhook.healthz(trusting: webhook.directory.file("first.pem")) == 0)
        #expect(webhook.object("secrets", Self.namespace, Self.tlsSecret) == nil)
    }

    static func resourceVersion(_ object: [String: Any]?) -> String? {
        (object?["metadata"] as? [String: Any])?["resourceVersion"] as? String
    }

    /// A self-signed EC certificate for the Service's names that expires in `days`, made by the openssl CLI.
    static func selfSignedCertificate(days: Int, in directory: TemporaryDirectory) throws
        -> (certificate: String, key: String)
    {
        let certificate = directory.file("old.crt")
        let key = directory.file("old.key")
        let result = try ProcessRunner.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "\(days)",
                "-subj", "/CN=\(host)", "-addext", "subjectAltName=DNS:\(host),DNS:\(host).cluster.local",
                "-keyout", key, "-out", certificate,
            ])
        try #require(result.status == 0, "\(result.stderrText)")
        return (
            try String(contentsOfFile: certificate, encoding: .utf8), try String(contentsOfFile: key, encoding: .utf8)
        )
    }
}
