import Credentials
import Foundation
import Logging
import Synchronization
import SystemSupport
import TestSupport
import Testing

@testable import Kubernetes

/// The kubelet credential provider exchange as values: request parsing, the response's exact shape, the
/// cache duration from the token's remaining life, and the service-account-token mode's MintRequest.
@Suite struct KubeletProviderTests {
    @Test(arguments: [
        (0, "0s"), (-5, "0s"), (45, "45s"), (60, "1m0s"), (90, "1m30s"), (3600, "1h0m0s"), (21_570, "5h59m30s"),
        (43_200, "12h0m0s"),
    ])
    func goDurationsAreFormattedAsGoDoes(seconds: Int, text: String) {
        #expect(GoDuration.format(seconds: seconds) == text)
    }

    @Test func cacheDurationIsHalfTheRemainingLifeAndZeroWhenUnknown() {
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        #expect(CredentialProviderResponse.cacheDuration(expiresAt: now + 12 * 3600, now: now) == 6 * 3600)
        #expect(CredentialProviderResponse.cacheDuration(expiresAt: now + 43_140, now: now) == 21_570)
        #expect(CredentialProviderResponse.cacheDuration(expiresAt: now + 1.9, now: now) == 0)
        #expect(CredentialProviderResponse.cacheDuration(expiresAt: nil, now: now) == 0)
        #expect(CredentialProviderResponse.cacheDuration(expiresAt: now - 10, now: now) == 0)
    }

    @Test func theResponseHasExactlyTheFieldsKubeletsStrictDecoderAccepts() throws {
        let response = CredentialProviderResponse(
            cacheKeyType: .registry, cacheDurationSeconds: 21_570,
            auth: ["1234.dkr.ecr.eu-west-1.amazonaws.com": .init(username: "AWS", password: Secret("tok/en+="))])
        let bytes = response.encoded()
        #expect(bytes.last == 0x0a)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(Set(object.keys) == ["kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"])
        #expect(object["kind"] as? String == "CredentialProviderResponse")
        #expect(object["apiVersion"] as? String == "credentialprovider.kubelet.k8s.io/v1")
        #expect(object["cacheKeyType"] as? String == "Registry")
        #expect(object["cacheDuration"] as? String == "5h59m30s")
        let auth = try #require(object["auth"] as? [String: [String: String]])
        #expect(auth == ["1234.dkr.ecr.eu-west-1.amazonaws.com": ["username": "AWS", "password": "tok/en+="]])
        #expect(!String(decoding: bytes, as: UTF8.self).contains("\\/"))
    }

    @Test func requestsAreParsedStrictlyByKindAndVersion() throws {
        let full = #"""
            {"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1",
             "image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1","serviceAccountToken":"eyJ.x.y",
             "serviceAccountAnnotations":{"eks.amazonaws.com/ecr-role-arn":"arn:aws:iam::123456789012:role/pull"}}
            """#
        let request = try CredentialProviderRequest.parse(Array(full.utf8))
        #expect(request.image == "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1")
        #expect(request.serviceAccountToken == Secret("eyJ.x.y"))
        #expect(
            request.serviceAccountAnnotations["eks.amazonaws.com/ecr-role-arn"] == "arn:aws:iam::123456789012:role/pull"
        )

        let beta =
            #"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1beta1","image":"a/b"}"#
        #expect(
            throws: CredentialProviderRequest.ParseError.wrongType(
                apiVersion: "credentialprovider.kubelet.k8s.io/v1beta1", kind: "CredentialProviderRequest")
        ) {
            try CredentialProviderRequest.parse(Array(beta.utf8))
        }
        let noImage = #"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}"#
        #expect(throws: CredentialProviderRequest.ParseError.missingImage) {
            try CredentialProviderRequest.parse(Array(noImage.utf8))
        }
        #expect(throws: CredentialProviderRequest.ParseError.tooLarge) {
            try CredentialProviderRequest.parse(
                [UInt8](repeating: 0x20, count: CredentialProviderRequest.maximumBytes + 1))
        }
    }

    @Test func aStaticRuleAnswersForTheImagesRegistryHost() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let config = try ConfigParser.parse(
            "registries:\n  - host: registry.example.com:5000\n    credentials: [PULL_USER, PULL_PASS]\n",
            file: "c.yaml")
        let environment = OcicredEnvironment(["HOME": home.path, "PULL_USER": "puller", "PULL_PASS": "pa:ss"])
        let resolver = Resolver(environment: environment, logger: Logger(label: "test"), config: config)
        let provider = KubeletCredentialProvider(resolver: resolver, now: { Date(timeIntervalSince1970: 0) })
        let response = try await provider.respond(
            to: CredentialProviderRequest(
                image: "registry.example.com:5000/team/app@sha256:" + String(repeating: "a", count: 64)))
        #expect(response.auth == ["registry.example.com:5000": .init(username: "puller", password: Secret("pa:ss"))])
        // A credential without an expiry is cached for the config's `kubelet: cacheDuration` (default 5 minutes),
        // not 0 s, which would make the kubelet run the plugin on every pull.
        #expect(response.cacheDurationSeconds == Int(KubeletConfig.defaultCacheDuration))
        #expect(response.cacheKeyType == .registry)
        let configured = KubeletCredentialProvider(
            resolver: resolver, config: KubeletConfig(cacheDuration: 3600), now: { Date(timeIntervalSince1970: 0) })
        let longer = try await configured.respond(to: CredentialProviderRequest(image: "registry.example.com:5000/a"))
        #expect(longer.cacheDurationSeconds == 3600)
    }

    @Test func aServiceAccountTokenIsHandedToTheProviderWithTheAnnotatedRole() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let aws = RecordingProvider(name: "aws", expiresAt: Date(timeIntervalSince1970: 1_750_000_000 + 12 * 3600))
        let environment = OcicredEnvironment(["HOME": home.path, "AWS_ECR_ROLE_ARN": "arn:aws:iam::1:role/from-env"])
        let resolver = Resolver(
            environment: environment, providers: [aws], logger: Logger(label: "test"),
            config: OcicredConfig())
        let provider = KubeletCredentialProvider(
            resolver: resolver, now: { Date(timeIntervalSince1970: 1_750_000_000) })
        let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"

        let annotated = CredentialProviderRequest(
            image: image, serviceAccountToken: Secret("pod-token"),
            serviceAccountAnnotations: [ServiceAccountAnnotation.awsECRRole: "arn:aws:iam::1:role/annotated"])
        let response = try await provider.respond(to: annotated)
        #expect(response.cacheDurationSeconds == 6 * 3600)
        #expect(response.auth["123456789012.dkr.ecr.us-east-1.amazonaws.com"]?.username == "AWS")
        _ = try await provider.respond(
            to: CredentialProviderRequest(image: image, serviceAccountToken: Secret("pod-token-2")))

        let requests = aws.requests
        try #require(requests.count == 2)  // the shared token cache is bypassed: every pod's token is exchanged
        #expect(requests[0].serviceAccountToken == Secret("pod-token"))
        #expect(requests[0].identity.awsRoleARN == "arn:aws:iam::1:role/annotated")
        #expect(requests[1].serviceAccountToken == Secret("pod-token-2"))
        #expect(requests[1].identity.awsRoleARN == "arn:aws:iam::1:role/from-env")
    }

    @Test func withoutATokenTheNodesIdentityIsUsedUnchanged() async throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let aws = RecordingProvider(name: "aws", expiresAt: Date(timeIntervalSince1970: 1_750_000_000 + 600))
        let environment = OcicredEnvironment(["HOME": home.path, "OCICRED_CACHE": "off", "AWS_ECR_ROLE_ARN": "arn:x"])
        let resolver = Resolver(
            environment: environment, providers: [aws], logger: Logger(label: "test"),
            config: OcicredConfig())
        let provider = KubeletCredentialProvider(
            resolver: resolver, now: { Date(timeIntervalSince1970: 1_750_000_000) })
        let response = try await provider.respond(
            to: CredentialProviderRequest(image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/a"))
        #expect(response.cacheDurationSeconds == 300)
        #expect(aws.requests.first?.serviceAccountToken == nil)
        #expect(aws.requests.first?.identity.awsRoleARN == nil)
    }
}

/// A provider that records what it was asked to mint.
final class RecordingProvider: CredentialProvider {
    let name: String
    let expiresAt: Date
    private let recorded = Mutex<[MintRequest]>([])

    init(name: String, expiresAt: Date) {
        self.name = name
        self.expiresAt = expiresAt
    }

    var requests: [MintRequest] { recorded.withLock { $0 } }

    let mintingEnvironment: [String] = []
    func cacheIdentity(for request: MintRequest) -> String { request.identity.description }

    func mint(_ request: MintRequest) async throws(ProviderError) -> MintedToken {
        recorded.withLock { $0.append(request) }
        return MintedToken(username: "AWS", secret: Secret("minted"), expiresAt: expiresAt)
    }
}
