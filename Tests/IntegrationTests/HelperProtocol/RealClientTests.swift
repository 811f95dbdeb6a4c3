import Foundation
import TestSupport
import Testing

/// podman, buildah and skopeo against a real docker-registry with htpasswd auth, each reaching ocicred through the
/// `credHelpers` entry of its auth file — the steps the README and helpers/demo show, asserting what a user sees.
/// Every test starts its own registry on a free 127.0.0.1 port and its own sandbox (HOME, store, containers
/// storage), and stops and removes both in `defer`, failed or not.
@Suite(.serialized)
struct RealClientTests {
    let username = "ocicred-user"

    /// The password has ':' in it: the helper protocol carries it as JSON, and splitting a `user:password` string
    /// on the wrong ':' is the classic mistake.
    static func makePassword() -> String { "s3cret:with:colons-" + UUID().uuidString.prefix(8).lowercased() }

    @Test func podmanLoginStoresThroughTheHelper() throws {
        let password = Self.makePassword()
        try ContainersSandbox.withPodmanLogin(username: username, password: password) { sandbox, registry in
            let list = try sandbox.helper("list", stdin: "")
            #expect(list.status == 0, "docker-credential-ocicred list: \(list)")
            let listed = try JSONDecoder().decode([String: String].self, from: list.stdout)
            #expect(listed[registry.host] == username, "docker-credential-ocicred list: \(list.stdoutText)")

            let get = try sandbox.helper("get", stdin: registry.host)
            #expect(get.status == 0, "docker-credential-ocicred get: \(get.stderrText)")
            let answer = try JSONDecoder().decode(HelperCredentials.self, from: get.stdout)
            #expect(answer.username == username)
            #expect(answer.secret == password, "get returned a different secret than podman login stored")

            // podman handed the secret to the helper instead of writing it into the auth file.
            let authFile = try sandbox.authFileContents()
            let auth = try #require(try JSONSerialization.jsonObject(with: authFile) as? [String: Any])
            let authText = String(decoding: authFile, as: UTF8.self)
            #expect((auth["auths"] as? [String: Any])?[registry.host] == nil, "auth file: \(authText)")
            #expect(clearForms(of: password).allSatisfy { authFile.range(of: $0) == nil }, "auth file: \(authText)")

            // The store: a 0700 directory of 0600 files, one per entry, none holding the password in clear.
            #expect(permissions(of: sandbox.storeDirectory) == 0o700, "store directory \(sandbox.storeDirectory)")
            let storeFiles = try filesUnder(sandbox.storeDirectory)
            #expect(storeFiles.contains { ($0 as NSString).lastPathComponent.hasPrefix("oci-creds-") }, "\(storeFiles)")
            for file in storeFiles {
                #expect(permissions(of: file) == 0o600, "\(file) is not 0600")
            }
            for directory in try directoriesUnder(sandbox.storeDirectory) {
                #expect(permissions(of: directory) == 0o700, "\(directory) is not 0700")
            }
            #expect(permissions(of: sandbox.keyFile) == 0o600, "key file \(sandbox.keyFile)")
            for file in try filesUnder(sandbox.home).filter(isRegularFile) + [sandbox.authFile] {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                for form in clearForms(of: password) {
                    #expect(bytes.range(of: form) == nil, "\(file) holds the password in clear")
                }
            }
        }
    }

    @Test func buildahPushAndSkopeoInspectGetThePasswordThroughTheHelper() throws {
        let password = Self.makePassword()
        try ContainersSandbox.withPodmanLogin(username: username, password: password) { sandbox, registry in
            let reference = try pushScratchImage(sandbox, registry, repository: "ocicred-test/hello", tag: "1")

            let inspect = try sandbox.run("skopeo", ["inspect", "--tls-verify=false", "docker://\(reference)"])
            try #require(inspect.status == 0, "skopeo inspect: \(inspect)\nregistry log:\n\(registry.log)")
            let manifest = try #require(try JSONSerialization.jsonObject(with: inspect.stdout) as? [String: Any])
            #expect(manifest["Name"] as? String == "\(registry.host)/ocicred-test/hello")
            #expect((manifest["Digest"] as? String)?.hasPrefix("sha256:") == true)
            #expect((manifest["Labels"] as? [String: String])?["org.opencontainers.image.title"] == "ocicred-test")
        }
    }

    @Test func wrongStoredPasswordMakesSkopeoFailWithAnAuthError() throws {
        let password = Self.makePassword()
        try ContainersSandbox.withPodmanLogin(username: username, password: password) { sandbox, registry in
            let reference = try pushScratchImage(sandbox, registry, repository: "ocicred-test/auth", tag: "1")
            let inspectArguments = ["inspect", "--tls-verify=false", "docker://\(reference)"]
            let before = try sandbox.run("skopeo", inspectArguments)
            try #require(before.status == 0, "skopeo inspect with the right password: \(before)")

            // Replace the stored password through the helper protocol, as `docker login` would.
            let store = try sandbox.helper(
                "store",
                stdin: try jsonString(["ServerURL": registry.host, "Username": username, "Secret": "wrong:\(password)"])
            )
            try #require(store.status == 0, "docker-credential-ocicred store: \(store)")

            let after = try sandbox.run("skopeo", inspectArguments)
            #expect(after.status != 0, "skopeo inspect succeeded with a wrong stored password: \(after)")
            let message = after.stderrText.lowercased()
            #expect(
                message.contains("unauthorized") || message.contains("authentication required"),
                "skopeo inspect did not fail with an auth error: \(after)")
        }
    }

    @Test func podmanLogoutErasesThroughTheHelper() throws {
        let password = Self.makePassword()
        try ContainersSandbox.withPodmanLogin(username: username, password: password) { sandbox, registry in
            let listedBefore = try sandbox.helper("list", stdin: "")
            try #require(listedBefore.stdoutText.contains("\"\(registry.host)\""), "not stored: \(listedBefore)")

            let logout = try sandbox.run("podman", ["logout", registry.host])
            #expect(logout.status == 0, "podman logout: \(logout)")

            let list = try sandbox.helper("list", stdin: "")
            #expect(list.status == 0, "docker-credential-ocicred list: \(list)")
            let listed = try JSONDecoder().decode([String: String].self, from: list.stdout)
            #expect(listed[registry.host] == nil, "still listed after logout: \(list.stdoutText)")

            let get = try sandbox.helper("get", stdin: registry.host)
            #expect(get.status == 1, "docker-credential-ocicred get: \(get)")
            let notFound = get.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(notFound == "credentials not found in native keychain")

            let leftovers = try filesUnder(sandbox.storeDirectory).filter {
                ($0 as NSString).lastPathComponent.hasPrefix("oci-creds-")
            }
            #expect(leftovers.isEmpty, "entry files left after logout: \(leftovers)")
        }
    }

    @Test func registriesConfSnippetMakesPodmanLoginStoreThroughTheHelper() throws {
        let snippet = ContainersSandbox.helperSnippet
        let registriesConf = try String(contentsOf: snippet, encoding: .utf8)
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        // No credHelpers entry: only the shipped registries.conf.d snippet routes podman to ocicred.
        let sandbox = try ContainersSandbox(credHelpers: [:], registriesConf: registriesConf)
        defer { sandbox.remove() }

        try sandbox.podmanLogin(to: registry, password: password)

        let get = try sandbox.helper("get", stdin: registry.host)
        #expect(get.status == 0, "docker-credential-ocicred get: \(get.stderrText)")
        let answer = try JSONDecoder().decode(HelperCredentials.self, from: get.stdout)
        #expect(answer.secret == password)
        let authFile = try sandbox.authFileContents()
        #expect(
            clearForms(of: password).allSatisfy { authFile.range(of: $0) == nil },
            "podman wrote the password into the auth file: \(String(decoding: authFile, as: UTF8.self))")
    }

    // MARK: - Steps, as a user types them

    /// `buildah from scratch` + `copy` + `config` + `commit`, then `buildah push` to the registry; returns the
    /// pushed reference (`127.0.0.1:PORT/REPOSITORY:TAG`).
    private func pushScratchImage(
        _ sandbox: ContainersSandbox, _ registry: RegistryFixture, repository: String, tag: String
    ) throws -> String {
        let from = try sandbox.run("buildah", ["from", "scratch"])
        try #require(from.status == 0, "buildah from scratch: \(from)")
        let container = from.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        let file = sandbox.directory.file("hello.txt")
        try "hello from ocicred\n".write(toFile: file, atomically: true, encoding: .utf8)
        let copy = try sandbox.run("buildah", ["copy", "--quiet", container, file, "/hello.txt"])
        try #require(copy.status == 0, "buildah copy: \(copy)")
        let config = try sandbox.run(
            "buildah", ["config", "--label", "org.opencontainers.image.title=ocicred-test", container])
        try #require(config.status == 0, "buildah config: \(config)")
        let local = "localhost/\(repository):\(tag)"
        let commit = try sandbox.run("buildah", ["commit", "--quiet", "--rm", container, local])
        try #require(commit.status == 0, "buildah commit: \(commit)")

        let reference = "\(registry.host)/\(repository):\(tag)"
        let push = try sandbox.run("buildah", ["push", "--tls-verify=false", local, "docker://\(reference)"])
        try #require(push.status == 0, "buildah push: \(push)\nregistry log:\n\(registry.log)")
        return reference
    }

    // MARK: - Checks

    /// The shapes in which a secret shows up when it is kept in clear: raw, and base64 as in an auth file's `auth`.
    private func clearForms(of password: String) -> [Data] {
        [
            Data(password.utf8),
            Data(Data("\(username):\(password)".utf8).base64EncodedString().utf8),
            Data(Data(password.utf8).base64EncodedString().utf8),
        ]
    }

    private func permissions(of path: String) -> Int {
        var info = stat()
        guard lstat(path, &info) == 0 else { return -1 }
        return Int(info.st_mode & 0o7777)
    }

    private func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    private func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Every non-directory entry below `root` (recursively), as absolute paths.
    private func filesUnder(_ root: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: root).map { root + "/" + $0 }.filter { !isDirectory($0) }
    }

    private func directoriesUnder(_ root: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: root).map { root + "/" + $0 }.filter(isDirectory)
    }

    private func jsonString(_ object: [String: String]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

/// The helper's `get` answer, in the docker-credential-helpers field names.
private struct HelperCredentials: Decodable {
    let serverURL: String?
    let username: String
    let secret: String

    enum CodingKeys: String, CodingKey {
        case serverURL = "ServerURL"
        case username = "Username"
        case secret = "Secret"
    }
}
