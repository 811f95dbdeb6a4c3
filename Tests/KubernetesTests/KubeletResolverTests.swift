import Credentials
import Foundation
import Kubernetes
import Logging
import Synchronization
import SystemSupport
import TestSupport
import Testing

/// `Resolver.resolve(_:serviceAccountToken:serviceAccountAnnotations:)`: the kubelet's pod token reaches the
/// provider the host implies, with the identity its service account's annotations pick, in front of the config
/// rule; the shared token cache is never consulted or written.
@Suite("resolver, kubelet service-account-token mode")
struct KubeletResolverTests {
    /// Records every request it is asked to mint.
    final class RecordingProvider: CredentialProvider, Sendable {
        let name: String
        private let recorded = Mutex<[MintRequest]>([])

        init(name: String) { self.name = name }

        var requests: [MintRequest] { recorded.withLock { $0 } }

        let mintingEnvironment: [String] = []
        func cacheIdentity(for request: MintRequest) -> String { "fixed" }

        func mint(_ request: MintRequest) async throws(ProviderError) -> MintedToken {
            recorded.withLock { $0.append(request) }
            return MintedToken(username: name, secret: Secret("t"), expiresAt: Date().addingTimeInterval(3600))
        }
    }

    func resolver(
        _ provider: RecordingProvider, home: TemporaryDirectory, config: String? = nil,
        environment extra: [String: String] = [:]
    ) throws -> Resolver {
        var values = ["HOME": home.path, "OCICRED_CACHE_FILE": home.file("tokens")]
        if let config {
            try config.write(toFile: home.file("config.yaml"), atomically: true, encoding: .utf8)
            values["OCICRED_CONFIG"] = home.file("config.yaml")
        }
        return Resolver(
            environment: OcicredEnvironment(values.merging(extra) { $1 }), providers: [provider],
            logger: Logger(label: "test"))
    }

    @Test func gcpAnnotationsNameThePoolProviderAndTheServiceAccount() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let gcp = RecordingProvider(name: "gcp")
        let resolver = try resolver(gcp, home: home)
        let annotations = [
            "ocicred.io/gcp-workload-identity-provider":
                "projects/1/locations/global/workloadIdentityPools/p/providers/k",
            "iam.gke.io/gcp-service-account": "puller@p.iam.gserviceaccount.com",
            "azure.workload.identity/client-id": "not-for-gcp",
        ]
        let credential = try await resolver.resolve(
            CredentialKey(serverURL: "europe-docker.pkg.dev"), serviceAccountToken: Secret("pod-a"),
            serviceAccountAnnotations: annotations)
        #expect(credential.username == "gcp")
        let request = try #require(gcp.requests.first)
        #expect(request.serviceAccountToken == Secret("pod-a"))
        #expect(
            request.identity.gcpWorkloadIdentityProvider == annotations["ocicred.io/gcp-workload-identity-provider"])
        #expect(request.identity.gcpImpersonate == "puller@p.iam.gserviceaccount.com")
        #expect(request.identity.azureClientID == nil)
    }

    @Test func azureAnnotationsWinOverTheRuleAndEmptyOnesDoNot() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let azure = RecordingProvider(name: "azure")
        let resolver = try resolver(
            azure, home: home,
            config: """
                version: 1
                registries:
                  - host: team.azurecr.io
                    provider: azure
                    azure: { clientId: 0f0e0d0c-0b0a-4908-8706-050403020100, tenantId: rule-tenant }
                """)
        let key = try CredentialKey(serverURL: "team.azurecr.io")
        _ = try await resolver.resolve(
            key, serviceAccountToken: Secret("pod-a"),
            serviceAccountAnnotations: ["azure.workload.identity/client-id": "pod-client"])
        _ = try await resolver.resolve(
            key, serviceAccountToken: Secret("pod-b"),
            serviceAccountAnnotations: [
                "azure.workload.identity/client-id": " ", "azure.workload.identity/tenant-id": "",
            ])
        let requests = azure.requests
        try #require(requests.count == 2, "the token cache is bypassed: each pod's token is exchanged")
        #expect(requests[0].identity.azureClientID == "pod-client")
        #expect(requests[0].identity.azureTenantID == "rule-tenant")
        #expect(requests[1].identity.azureClientID == "0f0e0d0c-0b0a-4908-8706-050403020100")
        #expect(requests[1].serviceAccountToken == Secret("pod-b"))
        #expect(!FileManager.default.fileExists(atPath: home.file("tokens")), "nothing written to the shared cache")
    }

    @Test func theAWSRoleComesFromTheAnnotationThenTheEnvironment() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let aws = RecordingProvider(name: "aws")
        let resolver = try resolver(aws, home: home, environment: ["AWS_ECR_ROLE_ARN": "arn:aws:iam::1:role/env"])
        let key = try CredentialKey(serverURL: "123456789012.dkr.ecr.us-east-1.amazonaws.com")
        _ = try await resolver.resolve(
            key, serviceAccountToken: Secret("pod-a"),
            serviceAccountAnnotations: ["eks.amazonaws.com/ecr-role-arn": "arn:aws:iam::1:role/annotated"])
        _ = try await resolver.resolve(key, serviceAccountToken: Secret("pod-b"), serviceAccountAnnotations: [:])
        #expect(
            aws.requests.map(\.identity.awsRoleARN) == ["arn:aws:iam::1:role/annotated", "arn:aws:iam::1:role/env"])
    }
}
