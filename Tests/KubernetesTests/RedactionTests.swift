import Credentials
import TestSupport
import Testing

@testable import Kubernetes

/// The kubelet exchange and the cluster config hold registry passwords and bearer tokens.
@Suite("Kubernetes values redact under print, dump and Mirror")
struct KubernetesRedactionTests {
    static let canary = "kubernetes-canary-55d0"

    @Test func kubeletExchangeAndClusterConfig() {
        let response = CredentialProviderResponse(
            cacheKeyType: .registry, cacheDurationSeconds: 60,
            auth: ["r.example": .init(username: "u", password: Secret(Self.canary))])
        let values: [(String, Any)] = [
            ("response", response),
            ("request", CredentialProviderRequest(image: "r.example/a", serviceAccountToken: Secret(Self.canary))),
            ("cluster config", ClusterConfig(server: "https://k8s.example", token: .inline(Secret(Self.canary)))),
        ]
        for (name, value) in values {
            #expect(RedactionProbe.leaks(of: value, secret: Self.canary).isEmpty, "\(name)")
        }
        // The one place the password is meant to go: the response's JSON for the kubelet.
        #expect(String(decoding: response.encoded(), as: UTF8.self).contains(Self.canary))
    }
}
