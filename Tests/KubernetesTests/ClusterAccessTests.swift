import Credentials
import Foundation
import Testing
import Transport

@testable import Kubernetes

/// Namespaces, ServiceAccounts, bearer tokens and TLS against the fixture API server, and the proof that
/// `KubernetesAPICall.all` is exactly what the client sends.
@Suite struct ClusterAccessTests {
    @Test func namespacesAreListedAcrossPages() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        var client = fixture.client()
        client.listPageSize = 2
        #expect(try await client.namespaceNames() == ["default", "kube-system", "ocicred", "team-a", "team-b"])
    }

    @Test func anImagePullSecretIsAddedOnceAndOtherEntriesAreKept() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        try await fixture.control(
            "POST", "/__seed",
            [
                "apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "builder", "namespace": "team-a"],
                "imagePullSecrets": [["name": "existing"]],
            ])
        let client = fixture.client()
        #expect(
            try await client.ensureImagePullSecret(
                namespace: "team-a", serviceAccount: "builder", secretName: "regcred"))
        #expect(
            try await !client.ensureImagePullSecret(
                namespace: "team-a", serviceAccount: "builder", secretName: "regcred"))
        let account = try #require(try await fixture.object("serviceaccounts", "team-a", "builder"))
        #expect(account["imagePullSecrets"] as? [[String: String]] == [["name": "existing"], ["name": "regcred"]])
    }

    @Test func aServiceAccountChangedMeanwhileIsPatchedAgain() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        try await fixture.control(
            "POST", "/__touch_after_get",
            ["resource": "serviceaccounts", "namespace": "default", "name": "default", "times": 1])
        #expect(
            try await fixture.client().ensureImagePullSecret(
                namespace: "default", serviceAccount: "default", secretName: "regcred"))
        let account = try #require(try await fixture.object("serviceaccounts", "default", "default"))
        #expect(account["imagePullSecrets"] as? [[String: String]] == [["name": "regcred"]])
        #expect(
            ((account["metadata"] as? [String: Any])?["annotations"] as? [String: String])?["other-writer/touched"]
                == "1")
    }

    @Test func aRotatedTokenFileIsReadAgainAfterA401() async throws {
        let fixture = try KubeAPIFixture(tokens: ["token-one"])
        defer { fixture.stop() }
        let tokenFile = fixture.directory.file("token")
        try "token-one\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let clock = ManualClock()
        let client = fixture.client(token: .file(tokenFile), now: clock.now)
        _ = try await client.namespaceNames()

        // The kubelet rotates the projected token; the old one stops working at once.
        try "token-two\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await fixture.control("POST", "/__tokens", ["tokens": ["token-two"]])
        _ = try await client.namespaceNames()
        #expect(try await fixture.counter("unauthorized") == 1)

        // Once the refresh period has passed the file is read again before any request: no 401 at all.
        try "token-three\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await fixture.control("POST", "/__tokens", ["tokens": ["token-two", "token-three"]])
        clock.advance(BearerTokenSource.refreshPeriod + 1)
        try await fixture.control("POST", "/__tokens", ["tokens": ["token-three"]])
        _ = try await client.namespaceNames()
        #expect(try await fixture.counter("unauthorized") == 1)
    }

    @Test func aRefusedTokenIsReportedWithoutTheToken() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let client = fixture.client(token: .inline(Secret("not-the-token-s3cr3t")))
        do {
            _ = try await client.namespaceNames()
            Issue.record("a wrong token was accepted")
        } catch {
            guard case .unauthorized = error else { Issue.record("\(error)"); return }
            #expect(!error.description.contains("s3cr3t"))
        }
    }

    @Test func theClusterCAIsNeededToTalkTLS() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        do {
            _ = try await fixture.client(caFile: .some(nil)).namespaceNames()
            Issue.record("the fixture's certificate was trusted without its CA")
        } catch {
            guard case .transport(_, .tls) = error else { Issue.record("not a TLS error: \(error)"); return }
        }
        #expect(try await fixture.client().namespaceNames().count == 5)
    }

    /// Drives every operation, then compares what the fixture served with the client's table: RBAC in
    /// manifests/ is checked against the same table (RBACManifestTests), so both stay exact.
    @Test func theCallTableIsExactlyWhatTheClientSends() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let client = fixture.client()
        let config = Array(#"{"auths":{}}"#.utf8)
        _ = try await client.writeDockerConfigSecret(namespace: "default", name: "regcred", dockerConfigJSON: config)
        _ = try await client.writeDockerConfigSecret(
            namespace: "default", name: "regcred", dockerConfigJSON: Array(#"{"auths":{"a":{}}}"#.utf8))
        _ = try await client.namespaceNames()
        try await client.ensureImagePullSecret(namespace: "default", serviceAccount: "default", secretName: "regcred")
        let elector = LeaderElector(client: client, namespace: "ocicred", name: "ocicred-refresh", identity: "a")
        _ = try await elector.tryAcquireOrRenew()
        _ = try await elector.tryAcquireOrRenew()
        #expect(
            try await fixture.calls()
                == KubernetesAPICall.onePass.union(
                    KubernetesAPICall.controller.filter {
                        $0.resource == "leases"
                    }))
        // The controller's: list then watch what it manages, delete what it wrote where it no longer belongs.
        for query in [
            WatchQuery.namespaces, .ownedSecrets(named: "regcred", label: "a=b"), .serviceAccounts(named: nil),
        ] {
            let listed = try await client.list(query)
            for try await event in client.watch(query, from: listed.resourceVersion, timeoutSeconds: 1) {
                _ = event
            }
        }
        try await client.deleteSecret(namespace: "default", name: "regcred")
        try await client.recordEvent(
            about: "Secret", namespace: "default", name: "regcred", uid: nil, type: "Warning", reason: "NotOwned",
            message: "a test")
        #expect(try await fixture.calls() == KubernetesAPICall.refresh)
        // The webhook's: its certificate Secret and the caBundle of its configuration.
        let material = KubernetesClient.TLSSecret(
            certificate: Array("cert".utf8), privateKey: Secret("key"), certificateAuthority: Array("ca".utf8))
        let created = try await client.writeTLSSecret(namespace: "ocicred", name: "tls", material, labels: [:])
        _ = try await client.tlsSecret(namespace: "ocicred", name: "tls")
        _ = try await client.writeTLSSecret(namespace: "ocicred", name: "tls", created, labels: [:])
        _ = try await fixture.control("POST", "/__seed", Self.webhookConfiguration)
        _ = try await client.setCABundle(
            webhookConfiguration: "hooks", service: "hook", namespace: "ocicred", caBundle: Array("ca".utf8))
        #expect(try await fixture.calls() == KubernetesAPICall.all)
    }

    static var webhookConfiguration: [String: Any] {
        [
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": ["name": "hooks"],
            "webhooks": [
                [
                    "name": "pods.hooks.example.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                    "clientConfig": ["service": ["name": "hook", "namespace": "ocicred"]],
                ]
            ],
        ]
    }
}
