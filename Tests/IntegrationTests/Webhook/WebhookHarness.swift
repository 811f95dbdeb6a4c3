import Foundation
import TestSupport
import Testing

/// The harness of WebhookTests: the fixture API server with the webhook overlay's RBAC and configuration, the
/// built `ocicred webhook`, and Pods and AdmissionReviews shaped as the API server sends them.
extension WebhookTests {
    final class Webhook: @unchecked Sendable {
        let directory: TemporaryDirectory
        let server: FixtureServer
        let port: Int
        var process: OcicredProcess?
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
            process = try OcicredProcess(
                [
                    "webhook",
                    "--listen", "127.0.0.1:\(port)", "--service", WebhookTests.service, "--tls-secret",
                    WebhookTests.tlsSecret, "--webhook-configuration", "ocicred-webhook", "--check-interval",
                    "\(checkInterval)",
                ] + extra, home: directory.path,
                environment: [
                    "OCICRED_CONFIG": directory.file("config.yaml"), "KUBECONFIG": directory.file("kubeconfig"),
                    "OCICRED_LOG_LEVEL": "info",
                ], logName: "webhook")
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
