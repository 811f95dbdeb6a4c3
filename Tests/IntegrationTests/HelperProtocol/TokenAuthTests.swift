import Foundation
import TestSupport
import Testing

/// A registry with token authentication (docker-registry `auth: token:` and the fixture token server), used by
/// the real clients with an auth file from `ocicred authfile`, and by ocicred itself with an identity token.
@Suite(.serialized)
struct TokenAuthTests {
    @Test func buildahPushPodmanPullAndSkopeoInspectWithAnAuthfileOnATokenRegistry() throws {
        let password = "ci:token:" + UUID().uuidString.prefix(6).lowercased()
        let registry = try TokenRegistryFixture.start(users: [
            TokenUser(name: "ci-pusher", password: password, push: true)
        ])
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }
        let authfile = sandbox.directory.file("ci/auth.json")

        let write = try OcicredBinary.run(
            [
                "authfile", "--registry", registry.host, "--from-env", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD",
                "-o", authfile,
            ],
            home: sandbox.home, extraEnvironment: ["CI_REGISTRY_USER": "ci-pusher", "CI_REGISTRY_PASSWORD": password])
        try #require(write.status == 0, "ocicred authfile: \(write)")

        let local = try sandbox.commitScratchImage(name: "ci/token-app:1", content: "pushed through a token server\n")

        let reference = "\(registry.host)/ci/token-app:1"
        let push = try sandbox.run(
            "buildah", ["push", "--authfile", authfile, "--tls-verify=false", local, "docker://\(reference)"])
        #expect(push.status == 0, "buildah push --authfile: \(push)\n\(registry.log)")
        #expect(try registry.tokenCounter("token-basic") >= 1, "buildah never asked the token server")

        let inspect = try sandbox.run(
            "skopeo", ["inspect", "--authfile", authfile, "--tls-verify=false", "docker://\(reference)"])
        #expect(inspect.status == 0, "skopeo inspect --authfile: \(inspect)")
        #expect(inspect.stdoutText.contains("\"Name\": \"\(registry.host)/ci/token-app\""), "\(inspect.stdoutText)")

        let rmi = try sandbox.run("podman", ["rmi", "--force", local])
        #expect(rmi.status == 0, "podman rmi: \(rmi)")
        let pull = try sandbox.run("podman", ["pull", "--authfile", authfile, "--tls-verify=false", reference])
        #expect(pull.status == 0, "podman pull --authfile: \(pull)\n\(registry.log)")

        // An anonymous token grants nothing: without the file the registry refuses.
        let anonymous = try sandbox.run(
            "skopeo",
            [
                "inspect", "--authfile", sandbox.directory.file("empty.json"), "--tls-verify=false",
                "docker://\(reference)",
            ])
        #expect(anonymous.status != 0, "an anonymous inspect succeeded")

        // And ocicred agrees about the same file's credentials.
        let verify = try OcicredBinary.run(
            ["verify", registry.host, "--repository", "ci/token-app", "--push"], home: sandbox.home,
            extraEnvironment: ["REGISTRY_AUTH_FILE": authfile])
        #expect(verify.status == 0, "ocicred verify from the auth file: \(verify)")
        #expect(!verify.stdoutText.contains(password) && !verify.stderrText.contains(password))
    }

    @Test func anIdentityTokenIsExchangedWithARefreshGrant() throws {
        let password = "refresh:" + UUID().uuidString.prefix(6).lowercased()
        let registry = try TokenRegistryFixture.start(users: [TokenUser(name: "robot", password: password, push: true)])
        defer { registry.stop() }
        let home = try TemporaryDirectory(prefix: "ocicred-identity")
        defer { home.remove() }

        // An offline token, as `docker login` obtains one; curl reads the password from its config on stdin.
        let offline = try ProcessRunner.run(
            "curl", ["-sf", "-K", "-", registry.realm + "?service=\(TokenRegistryFixture.service)&offline_token=true"],
            stdin: Data("user = \"robot:\(password)\"\n".utf8), timeout: 30)
        try #require(offline.status == 0, "curl: \(offline)")
        let answer = try #require(try JSONSerialization.jsonObject(with: offline.stdout) as? [String: Any])
        let refreshToken = try #require(answer["refresh_token"] as? String)

        // docker's helper protocol marks an identity token with the username <token>.
        let body = try JSONSerialization.data(withJSONObject: [
            "ServerURL": registry.host, "Username": "<token>", "Secret": refreshToken,
        ])
        let store = try OcicredBinary.helper("store", home: home.path, stdin: body)
        try #require(store.status == 0, "store: \(store)")

        let verify = try OcicredBinary.run(
            ["verify", registry.host, "--repository", "robots/app", "--push"], home: home.path)
        #expect(verify.status == 0, "verify with an identity token: \(verify)\n\(registry.log)")
        #expect(verify.stdoutText.contains("an identity token"), "\(verify.stdoutText)")
        #expect(try registry.tokenCounter("token-refresh") >= 1, "no refresh_token grant reached the token server")
        #expect(!verify.stdoutText.contains(refreshToken) && !verify.stderrText.contains(refreshToken))
    }
}
