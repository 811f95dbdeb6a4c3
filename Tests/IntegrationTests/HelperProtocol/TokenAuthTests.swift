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

        let authfile = try sandbox.writeAuthfile(host: registry.host, username: "ci-pusher", password: password).path

        let local = try sandbox.commitScratchImage(name: "ci/token-app:1", content: "pushed through a token server\n")

        let reference = "\(registry.host)/ci/token-app:1"
        try sandbox.expectRealClientsUse(
            authfile: authfile, reference: reference, local: local, registryLog: { registry.log },
            afterPush: { () throws in
                #expect(try registry.tokenCounter("token-basic") >= 1, "buildah never asked the token server")
            })

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
