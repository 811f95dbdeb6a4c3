import Foundation
import TestSupport
import Testing

/// `ocicred refresh --once` with a Secret output whose namespaces come from `namespaceSelector`, against the
/// strict fixture API server (HTTPS with its own CA, bearer tokens, RBAC denials as 403 `Status` objects): the
/// Secret lands exactly in the namespaces the globs select, the ServiceAccounts there name it once however often
/// the refresh runs, and a cluster that will not list namespaces gets no Secret anywhere.
@Suite("refresh Secrets chosen by namespaceSelector")
struct RefreshNamespaceSelectorTests {
    static let secretName = "ocicred-pull"
    static let registryHost = "registry.example:5000"

    /// The fixture API server with a kubeconfig for it (whose own namespace, `ocicred`, a selector must not fall
    /// back to) and a refresh config with one selector-chosen Secret output.
    final class Cluster: @unchecked Sendable {
        let directory: TemporaryDirectory
        let kube: KubeAPIServer

        init(directory: TemporaryDirectory, include: [String], exclude: [String]) throws {
            self.directory = directory
            kube = try KubeAPIServer(in: directory, token: "selector-fixture-token")
            func list(_ globs: [String]) -> String { "[" + globs.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
            try """
            registries:
              - host: \(RefreshNamespaceSelectorTests.registryHost)
                credentials: [REG_USER, REG_PASS]
            refresh:
              outputs:
                - secret:
                    name: \(RefreshNamespaceSelectorTests.secretName)
                    namespaceSelector:
                      include: \(list(include))
                      exclude: \(list(exclude))
                    serviceAccounts: [default]
            """.write(toFile: directory.file("config.yaml"), atomically: true, encoding: .utf8)
        }

        func stop() { kube.stop() }

        @discardableResult
        func control(_ method: String, _ path: String, _ body: Any? = nil) throws -> Any {
            try kube.control(method, path, body)
        }

        func object(_ resource: String, _ namespace: String, _ name: String) throws -> [String: Any]? {
            try kube.object(resource, namespace, name)
        }

        func namespaces() throws -> [String] { try kube.namespaces() }

        /// `ocicred refresh --once`, as a CronJob runs it; the registry password is `password`.
        func refreshOnce(password: String) throws -> ProcessResult {
            try OcicredBinary.run(
                ["refresh", "--once"], home: directory.path,
                extraEnvironment: [
                    "OCICRED_CONFIG": directory.file("config.yaml"), "KUBECONFIG": directory.file("kubeconfig"),
                    "REG_USER": "selector-user", "REG_PASS": password, "OCICRED_LOG_LEVEL": "info",
                ])
        }
    }

    static func resourceVersion(_ object: [String: Any]?) -> String? {
        (object?["metadata"] as? [String: Any])?["resourceVersion"] as? String
    }

    /// Whether the Secret is a dockerconfigjson one whose entry for the registry carries exactly this user and
    /// password (compared here, never printed).
    static func holds(_ secret: [String: Any], username: String, password: String) -> Bool {
        guard secret["type"] as? String == "kubernetes.io/dockerconfigjson",
            let encoded = (secret["data"] as? [String: String])?[".dockerconfigjson"],
            let json = Data(base64Encoded: encoded),
            let config = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
            let entry = (config["auths"] as? [String: Any])?[registryHost] as? [String: Any]
        else { return false }
        return entry["username"] as? String == username && entry["password"] as? String == password
            && entry["auth"] as? String == Data("\(username):\(password)".utf8).base64EncodedString()
    }

    @Test func theSecretLandsOnlyInSelectedNamespacesAndTheServiceAccountNamesItOnce() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-selector")
        defer { dir.remove() }
        let cluster = try Cluster(directory: dir, include: ["team-*"], exclude: ["team-b"])
        defer { cluster.stop() }
        // Beside the fixture's default, kube-system, ocicred, team-a and team-b: one that matches nothing and one
        // that holds `team-` only in its middle (globs match whole names).
        try cluster.control("POST", "/__namespaces", ["add": ["other", "my-team-a"]])
        let namespaces = try cluster.namespaces()
        try #require(
            Set(namespaces) == ["default", "kube-system", "ocicred", "team-a", "team-b", "other", "my-team-a"],
            "\(namespaces)")
        let password = "selector-" + UUID().uuidString.prefix(8).lowercased()

        var accountVersion: String?
        for run in 1...2 {
            let result = try cluster.refreshOnce(password: password)
            // Judged outside #expect, which would print both operands: the password and the log holding it.
            let leaked = result.stderrText.contains(password)
            #expect(!leaked, "run \(run): the registry password in the log")
            #expect(result.status == 0, "run \(run): \(leaked ? "<log withheld>" : result.description)")
            for namespace in namespaces {
                let secret = try cluster.object("secrets", namespace, Self.secretName)
                let account = try cluster.object("serviceaccounts", namespace, "default")
                let pullSecrets = account?["imagePullSecrets"] as? [[String: String]]
                if namespace == "team-a" {
                    let written = try #require(secret, "run \(run): no Secret in team-a")
                    let holds = Self.holds(written, username: "selector-user", password: password)
                    #expect(holds, "run \(run): team-a's Secret does not hold the registry's credential")
                    #expect(
                        ((written["metadata"] as? [String: Any])?["labels"] as? [String: String])?[
                            "app.kubernetes.io/managed-by"] == "ocicred")
                    // Named once, on the first run and still once after the second.
                    #expect(pullSecrets == [["name": Self.secretName]], "run \(run): \(pullSecrets ?? [])")
                    if run == 1 {
                        accountVersion = Self.resourceVersion(account)
                    } else {
                        #expect(
                            Self.resourceVersion(account) == accountVersion,
                            "the second run patched a ServiceAccount that already named the Secret")
                    }
                } else {
                    let absent = secret == nil  // outside #expect, which would print the Secret's data
                    #expect(absent, "run \(run): a Secret in \(namespace), which the selector leaves out")
                    #expect(pullSecrets == nil, "run \(run): \(namespace)/default names \(pullSecrets ?? [])")
                }
            }
        }
        let calls = try #require(try cluster.control("GET", "/__calls") as? [[String: String]])
        #expect(calls.contains(["verb": "list", "group": "", "resource": "namespaces"]), "\(calls)")
    }

    /// RBAC without `list namespaces` (the ClusterRole left out): the refresh fails and says what to grant, and it
    /// writes no Secret anywhere — in particular not into the kubeconfig's own namespace as a fallback.
    @Test func aClusterThatForbidsListingNamespacesGetsNoSecretAnywhere() throws {
        let dir = try TemporaryDirectory(prefix: "ocicred-refresh-selector-rbac")
        defer { dir.remove() }
        let cluster = try Cluster(directory: dir, include: ["team-*"], exclude: ["team-b"])
        defer { cluster.stop() }
        try cluster.control("POST", "/__forbid", ["verb": "list", "group": "", "resource": "namespaces"])
        let password = "selector-" + UUID().uuidString.prefix(8).lowercased()

        let result = try cluster.refreshOnce(password: password)
        let leaked = result.stderrText.contains(password)
        #expect(!leaked, "the registry password in the log")
        let log = leaked ? "<log withheld>" : result.description
        #expect(result.status == 1, "\(log)")
        let explained = result.stderrText.contains("not allowed to list namespaces cluster-wide")
        #expect(explained, "the refusal and what to grant: \(log)")
        let quoted = result.stderrText.contains("cannot list resource")
        #expect(quoted, "the API server's own Forbidden message: \(log)")
        for namespace in try cluster.namespaces() {
            let absent = try cluster.object("secrets", namespace, Self.secretName) == nil
            #expect(absent, "a Secret in \(namespace)")
            let account = try cluster.object("serviceaccounts", namespace, "default")
            #expect(account?["imagePullSecrets"] == nil, "\(namespace)/default was patched")
        }
        let calls = try #require(try cluster.control("GET", "/__calls") as? [[String: String]])
        #expect(!calls.contains { $0["resource"] == "secrets" }, "a Secret call after the list was refused: \(calls)")
    }
}
