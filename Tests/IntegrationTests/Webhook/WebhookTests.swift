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
}
