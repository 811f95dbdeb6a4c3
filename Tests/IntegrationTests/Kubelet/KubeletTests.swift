import Foundation
import TestSupport
import Testing

/// `ocicred kubelet` as the kubelet runs it: a CredentialProviderRequest on stdin, the response on stdout,
/// compared with the golden pairs in Tests/Fixtures/kubelet/: static credentials from kubelet/config.yaml, and
/// each cloud provider's with no config, against its token service's strict fixture.
@Suite struct KubeletTests {
    static let goldens = FixtureServer.fixturesDirectory + "/kubelet"
    let environment = [
        "OCICRED_CONFIG": KubeletTests.goldens + "/config.yaml", "KUBE_PULL_USER": "kube-puller",
        "KUBE_PULL_PASSWORD": "p@ss:w0rd/+", "HUB_USER": "hubuser", "HUB_TOKEN": "dckr_pat_hub",
    ]

    func run(_ stdin: String, extra: [String: String] = [:]) throws -> ProcessResult {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        return try OcicredBinary.run(
            ["kubelet"], home: home.path, stdin: stdin, extraEnvironment: environment.merging(extra) { $1 }, timeout: 30
        )
    }

    @Test(arguments: ["static", "service-account-token", "docker-hub"])
    func theResponseMatchesTheGoldenFile(name: String) throws {
        let request = try String(contentsOfFile: Self.goldens + "/\(name).request.json", encoding: .utf8)
        let expected = try Data(contentsOf: URL(fileURLWithPath: Self.goldens + "/\(name).response.json"))
        let result = try run(request)
        try #require(result.status == 0, "\(result)")
        #expect(result.stderrText.isEmpty, "\(result.stderrText)")
        // One JSON document and nothing else on stdout: the kubelet decodes it strictly.
        let actual = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let golden = try #require(try JSONSerialization.jsonObject(with: expected) as? [String: Any])
        #expect(Set(actual.keys) == ["kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"])
        #expect(Set(actual.keys) == Set(golden.keys))
        #expect(NSDictionary(dictionary: actual) == NSDictionary(dictionary: golden), "\(result.stdoutText)")
        for (_, entry) in try #require(actual["auth"] as? [String: [String: Any]]) {
            #expect(Set(entry.keys) == ["username", "password"])
        }
        #expect(result.stdoutText == String(decoding: expected, as: UTF8.self), "byte-exact output changed")
    }

    /// How far `cacheDuration` may fall below the golden value. It is half the token's remaining life when the
    /// response is written, so it shrinks by half of every second between the fixture minting the token (with a
    /// fixed lifetime, whose half the golden file holds) and ocicred answering, and it is rounded to whole
    /// seconds: 5 s allows ten seconds of a slow, loaded machine. It can never exceed the golden value.
    static let cacheDurationTolerance = 5

    /// A cloud registry as the kubelet sees it on a node: no ocicred config at all, the provider picked by the
    /// host's kind, the node's identity served by the strict fixture (which issues a fixed token so the golden
    /// file can hold it). Every key is compared exactly except `cacheDuration`, which depends on the clock.
    @Test(arguments: CloudGolden.allCases)
    func aCloudRegistrysResponseMatchesTheGoldenFileUpToTheClock(_ golden: CloudGolden) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let (fixture, environment) = try golden.start(home: home.path)
        defer { fixture.stop() }
        let request = try String(contentsOfFile: Self.goldens + "/\(golden.rawValue).request.json", encoding: .utf8)
        let expected = try String(contentsOfFile: Self.goldens + "/\(golden.rawValue).response.json", encoding: .utf8)
        let result = try OcicredBinary.run(
            ["kubelet"], home: home.path, stdin: request, extraEnvironment: environment, timeout: 30)
        try #require(result.status == 0, "\(result.stderrText)")
        #expect(result.stderrText.isEmpty, "\(result.stderrText)")

        let actual = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        let goldenObject = try #require(try JSONSerialization.jsonObject(with: Data(expected.utf8)) as? [String: Any])
        #expect(Set(actual.keys) == ["kind", "apiVersion", "cacheKeyType", "cacheDuration", "auth"])
        #expect(Set(actual.keys) == Set(goldenObject.keys))
        for key in ["kind", "apiVersion", "cacheKeyType"] {
            #expect(actual[key] as? String == goldenObject[key] as? String, "\(key)")
        }
        let auth = try #require(actual["auth"] as? [String: [String: Any]])
        let goldenAuth = try #require(goldenObject["auth"] as? [String: [String: String]])
        #expect(Set(auth.keys) == Set(goldenAuth.keys))
        for (host, entry) in auth {
            #expect(Set(entry.keys) == ["username", "password"])
            #expect(entry["username"] as? String == goldenAuth[host]?["username"])
            // The token is compared as a boolean: a failure must not print it.
            let samePassword = entry["password"] as? String == goldenAuth[host]?["password"]
            #expect(samePassword, "the password for \(host) is not the token the fixture issued")
        }

        let duration = try #require(actual["cacheDuration"] as? String)
        let goldenDuration = try #require(goldenObject["cacheDuration"] as? String)
        let seconds = try #require(KubeletWorkloadIdentity.goSeconds(duration), "cacheDuration \(duration)")
        let goldenSeconds = try #require(KubeletWorkloadIdentity.goSeconds(goldenDuration))
        #expect(
            (goldenSeconds - Self.cacheDurationTolerance...goldenSeconds).contains(seconds),
            "cacheDuration \(duration), golden \(goldenDuration)")
        // Byte-exact once the clock's part is set aside: one line, the same key order and escaping.
        let normalized = result.stdoutText.replacingOccurrences(
            of: #""cacheDuration":"\#(duration)""#, with: #""cacheDuration":"\#(goldenDuration)""#)
        let byteExact = normalized == expected
        #expect(byteExact, "byte-exact output changed (cacheDuration aside)")
        #expect(try fixture.counter(golden.mintCounter) == 1, "one token minted at the fixture")
    }

    @Test func anUnknownRegistryFailsOnStderrWithoutLeakingTheToken() throws {
        let token = "eyJhbGciOiJSUzI1NiJ9.leak-me.sig"
        let request =
            #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","#
            + #""image":"registry.unknown.example/app:1","serviceAccountToken":"\#(token)"}"#
        let result = try run(request)
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty, "\(result.stdoutText)")
        #expect(result.stderrText.contains("registry.unknown.example"), "\(result.stderrText)")
        #expect(!result.stderrText.contains("leak-me"))
    }

    @Test func aMissingVariableIsNamedButNoSecretIsPrinted() throws {
        let request = try String(contentsOfFile: Self.goldens + "/static.request.json", encoding: .utf8)
        let result = try run(request, extra: ["KUBE_PULL_PASSWORD": ""])
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrText.contains("KUBE_PULL_PASSWORD"), "\(result.stderrText)")
    }

    @Test(arguments: [
        ("not json", "not a JSON object"),
        (
            #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1alpha1","kind":"CredentialProviderRequest","image":"a"}"#,
            "apiVersion"
        ),
        (
            #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"UPPER case"}"#,
            "cannot parse image"
        ),
    ])
    func aBadRequestIsRefusedWithAReason(request: String, reason: String) throws {
        let result = try run(request)
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrText.contains(reason), "\(result.stderrText)")
    }

    @Test func anOversizedRequestIsRefusedNotTruncated() throws {
        let result = try run(String(repeating: " ", count: 300 * 1024))
        #expect(result.status != 0)
        #expect(result.stderrText.contains("larger than"), "\(result.stderrText)")
    }
}

/// The cloud registries' golden pairs (`<rawValue>.request.json`, `<rawValue>.response.json`) and the node identity
/// each is answered with: the EC2 instance role from IMDS for ECR, the GCE metadata server for GCR and Artifact
/// Registry, the managed identity from IMDS for ACR, the usual identity of a node's kubelet in each cloud.
enum CloudGolden: String, CaseIterable, Sendable {
    case ecr, ecrPublic = "ecr-public", gcr, artifactRegistry = "artifact-registry", acr

    /// The fixed tokens the fixtures issue; the golden responses hold them.
    static let ecrPassword = "ecr-golden-password"
    static let gcpTokenSuffix = "golden-metadata-token"
    /// An ACR refresh token shaped as ACR issues it but without `exp`, so ocicred assumes ACR's documented
    /// 3-hour lifetime: the `exp` path is clock-dependent and KubeletAzureWorkloadIdentityTests checks it.
    static let acrRefreshToken =
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImZpeHR1cmUifQ."
        + "eyJpc3MiOiJBenVyZSBDb250YWluZXIgUmVnaXN0cnkiLCJhdWQiOiJ0ZWFtcmVnaXN0cnkuYXp1cmVjci5pbyIsImdyYW50X3R5cGUi"
        + "OiJyZWZyZXNoX3Rva2VuIiwic3ViIjoiZ29sZGVuIn0.Z29sZGVuLXNpZ25hdHVyZQ"

    /// The fixture's counter for the token requests a kubelet call makes.
    var mintCounter: String {
        switch self {
        case .ecr, .ecrPublic: "mint"
        case .gcr, .artifactRegistry: "metadata"
        case .acr: "exchange"
        }
    }

    /// Starts the fixture on 127.0.0.1 and returns it with the environment pointing the provider at it. Files
    /// that would carry another identity (AWS config, gcloud config) are named inside `home`, where none exist.
    func start(home: String) throws -> (FixtureServer, [String: String]) {
        switch self {
        case .ecr, .ecrPublic:
            // 12-hour tokens, as ECR issues them: the golden cacheDuration is 6h0m0s. Requests must be signed for
            // us-east-1 with the instance role's session credentials.
            let fixture = try FixtureServer(
                script: "aws_fixtures.py", arguments: ["--lifetime", "43200", "--region", "us-east-1"],
                environment: ["AWS_FIXTURE_ECR_PASSWORD": Self.ecrPassword])
            return (
                fixture,
                [
                    "AWS_EC2_METADATA_SERVICE_ENDPOINT": fixture.baseURL, "AWS_ENDPOINT_URL_ECR": fixture.baseURL,
                    "AWS_ENDPOINT_URL_ECR_PUBLIC": fixture.baseURL, "AWS_CONFIG_FILE": home + "/no-aws-config",
                    "AWS_SHARED_CREDENTIALS_FILE": home + "/no-aws-credentials",
                ]
            )
        case .gcr, .artifactRegistry:
            // One-hour tokens: the golden cacheDuration is 30m0s.
            let fixture = try FixtureServer(
                script: "gcp_fixtures.py",
                environment: ["GCP_FIXTURE_EXPIRES_IN": "3600", "GCP_FIXTURE_TOKEN_SUFFIX": Self.gcpTokenSuffix])
            return (
                fixture,
                ["GCE_METADATA_HOST": "127.0.0.1:\(fixture.port)", "CLOUDSDK_CONFIG": home + "/gcloud"]
            )
        case .acr:
            // The refresh token has no `exp`: the golden cacheDuration is half of three hours, 1h30m0s.
            let fixture = try FixtureServer(
                script: "azure_fixtures.py",
                environment: [
                    "AZURE_FIXTURE_TENANT": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                    "AZURE_FIXTURE_REGISTRY": "teamregistry.azurecr.io",
                    "AZURE_FIXTURE_REFRESH_TOKEN": Self.acrRefreshToken,
                ])
            return (
                fixture,
                [
                    "AZURE_POD_IDENTITY_AUTHORITY_HOST": fixture.baseURL,
                    "OCICRED_ACR_EXCHANGE_ENDPOINT": fixture.baseURL,
                ]
            )
        }
    }
}
