import Foundation
import TestSupport
import Testing

/// `ocicred kubelet` as the kubelet runs it: a CredentialProviderRequest on stdin, the response on stdout,
/// compared with the golden pairs in Tests/Fixtures/kubelet/ (which run against kubelet/config.yaml).
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
