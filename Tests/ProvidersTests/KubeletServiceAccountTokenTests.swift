import Credentials
import Foundation
import Synchronization
import SystemSupport
import TestSupport
import Testing
import Transport

@testable import Providers

/// How the GCP and Azure providers read a kubelet-supplied pod token's settings, without any network: the
/// exchanges themselves are proven against the strict fixtures in IntegrationTests/Kubelet/KubeletWorkloadIdentityTests.
@Suite("kubelet service-account-token mode: GCP and Azure settings")
struct KubeletServiceAccountTokenTests {
    static let pool = "projects/9/locations/global/workloadIdentityPools/ci/providers/"
    static let builders = "//iam.googleapis.com/" + pool + "builders"
    static let client = RefusingHTTPClient()

    /// A pod token (unsigned: only its claims are read here) for `subject`, expiring `expiresIn` from now.
    static func podToken(subject: String = "system:serviceaccount:ci:builder", expiresIn: TimeInterval = 3600)
        -> Secret
    {
        func encode(_ json: String) -> String {
            Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let exp = Int(Date().timeIntervalSince1970 + expiresIn)
        return Secret(encode(#"{"alg":"RS256"}"#) + "." + encode(#"{"sub":"\#(subject)","exp":\#(exp)}"#) + ".c2ln")
    }

    static func request(
        _ kind: HostKind = .gcr, host: String = "gcr.io", identity: ProviderIdentity = .init(),
        environment: [String: String] = [:], token: Secret = podToken()
    ) -> MintRequest {
        MintRequest(
            host: host, kind: kind, identity: identity,
            environment: OcicredEnvironment(["HOME": "/nonexistent"].merging(environment) { $1 }),
            serviceAccountToken: token)
    }

    let gcp = GCPProvider(httpClient: KubeletServiceAccountTokenTests.client)
    let azure = AzureProvider(httpClient: KubeletServiceAccountTokenTests.client)

    @Test func theAnnotatedPoolProviderWinsOverTheEnvironmentAndTheShortFormIsCompleted() throws {
        let request = Self.request(
            identity: .init(
                gcpImpersonate: "puller@p.iam.gserviceaccount.com",
                gcpWorkloadIdentityProvider: Self.pool + "builders"),
            environment: [
                "OCICRED_GCP_WORKLOAD_IDENTITY_PROVIDER": "//iam.googleapis.com/" + Self.pool + "other",
                "OCICRED_GCP_SERVICE_ACCOUNT": "other@p.iam.gserviceaccount.com",
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_STS": "http://127.0.0.1:1",
            ])
        let account = try gcp.podFederation(request, podToken: request.serviceAccountToken!)
        #expect(account.audience == Self.builders)
        #expect(account.subjectTokenType == "urn:ietf:params:oauth:token-type:jwt")
        #expect(account.tokenURL == "http://127.0.0.1:1/v1/token")
        #expect(
            account.impersonationURL.flatMap(IAMCredentials.serviceAccount(inURL:))
                == "puller@p.iam.gserviceaccount.com")
    }

    @Test func theEnvironmentNamesThePoolProviderAndNoImpersonationIsOptional() throws {
        let request = Self.request(environment: ["OCICRED_GCP_WORKLOAD_IDENTITY_PROVIDER": Self.builders])
        let account = try gcp.podFederation(request, podToken: request.serviceAccountToken!)
        #expect(account.audience == Self.builders)
        #expect(account.tokenURL == "https://sts.googleapis.com/v1/token")
        #expect(account.impersonationURL == nil)
    }

    @Test(arguments: ["builders", "//iam.googleapis.com/projects/9", "https://example.com/providers/x"])
    func aValueThatIsNotAPoolProviderIsRefused(value: String) {
        let request = Self.request(identity: .init(gcpWorkloadIdentityProvider: value))
        #expect(throws: ProviderError.self) { try gcp.podFederation(request, podToken: request.serviceAccountToken!) }
    }

    @Test func twoPodsOfOneProviderAreDifferentCacheIdentitiesAndNoneHoldsTheToken() {
        let identity = ProviderIdentity(gcpWorkloadIdentityProvider: Self.builders)
        let a = Self.request(identity: identity, token: Self.podToken(subject: "system:serviceaccount:ci:a"))
        let b = Self.request(identity: identity, token: Self.podToken(subject: "system:serviceaccount:ci:b"))
        #expect(gcp.cacheIdentity(for: a) != gcp.cacheIdentity(for: b))
        #expect(gcp.cacheIdentity(for: a).contains("system:serviceaccount:ci:a"))
        #expect(!gcp.cacheIdentity(for: a).contains(a.serviceAccountToken!.exposedValue))
        let azureA = Self.request(
            .acr, host: "t.azurecr.io", identity: .init(azureClientID: "c", azureTenantID: "t"),
            token: a.serviceAccountToken!)
        #expect(azure.cacheIdentity(for: azureA) == "azure-pod-wi:c@t#system:serviceaccount:ci:a")
    }

    @Test func anExpiredPodTokenFailsBeforeAnyRequest() async {
        let token = Self.podToken(expiresIn: -60)
        let gcpRequest = Self.request(identity: .init(gcpWorkloadIdentityProvider: Self.builders), token: token)
        await #expect {
            try await gcp.mint(gcpRequest)
        } throws: { error in
            guard case ProviderError.expiredIdentity("gcp", let detail) = error else { return false }
            return detail.contains("service-account token") && !detail.contains(token.exposedValue)
        }
        let azureRequest = Self.request(
            .acr, host: "t.azurecr.io", identity: .init(azureClientID: "c", azureTenantID: "t"), token: token)
        await #expect {
            try await azure.mint(azureRequest)
        } throws: { error in
            guard case ProviderError.expiredIdentity("azure", _) = error else { return false }
            return true
        }
        #expect(Self.client.requests == 0)
    }

    @Test func aPodTokenWithoutATenantNamesTheMissingAnnotationNotTheNodesIdentity() async {
        var request = Self.request(
            .acr, host: "t.azurecr.io", identity: .init(azureClientID: "c"),
            environment: ["AZURE_CLIENT_SECRET": "node-secret", "AZURE_FEDERATED_TOKEN_FILE": "/node/token"])
        // The kubelet plugin says which annotation sets each field (Kubernetes' ServiceAccountAnnotation.keys).
        request.identityHints = [
            .azureClientID: "azure.workload.identity/client-id", .azureTenantID: "azure.workload.identity/tenant-id",
        ]
        await #expect {
            try await azure.mint(request)
        } throws: { error in
            guard case ProviderError.misconfigured("azure", let detail) = error else { return false }
            return detail.contains("azure.workload.identity/tenant-id") && detail.contains("AZURE_TENANT_ID")
                && !detail.contains("client-id")
        }
    }
}

/// A transport that refuses every request and counts them: these tests must not reach the network.
final class RefusingHTTPClient: HTTPClient {
    private let count = Mutex(0)
    var requests: Int { count.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        count.withLock { $0 += 1 }
        throw .unreachable(host: "test", reason: "no network in this test")
    }
}
