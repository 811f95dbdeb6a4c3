import Credentials
import Foundation
import Logging
import SystemSupport
import TestSupport
import Testing

@Suite("resolver and ambient auth files")
struct ResolverTests {
    let logger = Logger(label: "test")

    func write(_ json: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
    }

    func basic(_ user: String, _ password: String) -> String { Data("\(user):\(password)".utf8).base64EncodedString() }

    @Test("the store answers before any auth file")
    func storeFirst() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = EncryptedStore(directory: dir.file("store"), keyFile: dir.file("key"))
        let key = try CredentialKey(serverURL: "registry.example.com")
        try store.store(
            .fromHelper(serverURL: "registry.example.com", username: "stored", secret: Secret("s")), for: key)
        try write(
            "{\"auths\":{\"registry.example.com\":{\"auth\":\"\(basic("file", "f"))\"}}}", to: dir.file("auth.json"))
        let resolver = Resolver(store: store, authFiles: [dir.file("auth.json")], logger: logger)
        #expect(try await resolver.resolve(key).username == "stored")
    }

    @Test("auth files are read in order; the first that knows the host wins")
    func authFileOrder() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try write("{\"auths\":{\"other.example\":{\"auth\":\"\(basic("x", "y"))\"}}}", to: dir.file("first.json"))
        try write(
            "{\"auths\":{\"https://registry.example.com/v1/\":{\"auth\":\"\(basic("second", "pa:ss"))\"}}}",
            to: dir.file("second.json"))
        try write(
            "{\"auths\":{\"registry.example.com\":{\"auth\":\"\(basic("third", "t"))\"}}}", to: dir.file("third.json"))
        let resolver = Resolver(
            store: EncryptedStore(directory: dir.file("none"), keyFile: dir.file("nokey")),
            authFiles: [
                dir.file("missing.json"), dir.file("first.json"), dir.file("second.json"), dir.file("third.json"),
            ],
            logger: logger)
        let credential = try await resolver.resolve(try CredentialKey(serverURL: "registry.example.com"))
        #expect(credential.username == "second")
        #expect(credential.secret.exposedValue == "pa:ss")
        #expect(credential.source == .authFile(path: dir.file("second.json")))
    }

    @Test("entries for hosts delegated to ocicred, and empty placeholders, are skipped")
    func skipsSelf() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try write(
            """
            {"auths":{"registry.example.com":{"auth":"\(basic("stale", "s"))"},"empty.example":{}},
             "credHelpers":{"registry.example.com":"ocicred"}}
            """, to: dir.file("a.json"))
        try write(
            "{\"credsStore\":\"ocicred\",\"auths\":{\"store.example\":{\"auth\":\"\(basic("stale", "s"))\"}}}",
            to: dir.file("b.json"))
        let resolver = Resolver(
            store: EncryptedStore(directory: dir.file("none"), keyFile: dir.file("nokey")),
            authFiles: [dir.file("a.json"), dir.file("b.json")], logger: logger)
        for host in ["registry.example.com", "empty.example", "store.example"] {
            await #expect(throws: CredentialError.notFound(host: host)) {
                try await resolver.resolve(try CredentialKey(serverURL: host))
            }
        }
    }

    @Test("identity tokens come back with the <token> username")
    func identityToken() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try write(
            "{\"auths\":{\"r.example\":{\"auth\":\"\(basic("u", "p"))\",\"identitytoken\":\"idt-1\"}}}",
            to: dir.file("a.json"))
        let resolver = Resolver(
            store: EncryptedStore(directory: dir.file("none"), keyFile: dir.file("nokey")),
            authFiles: [dir.file("a.json")], logger: logger)
        let credential = try await resolver.resolve(try CredentialKey(serverURL: "r.example"))
        #expect(credential.username == "<token>")
        #expect(credential.secret.exposedValue == "idt-1")
    }

    @Test("a malformed auth file is skipped, not fatal")
    func malformedSkipped() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try write("{not json", to: dir.file("bad.json"))
        try write("{\"auths\":{\"r.example\":{\"auth\":\"\(basic("u", "p"))\"}}}", to: dir.file("good.json"))
        let resolver = Resolver(
            store: EncryptedStore(directory: dir.file("none"), keyFile: dir.file("nokey")),
            authFiles: [dir.file("bad.json"), dir.file("good.json")], logger: logger)
        #expect(try await resolver.resolve(try CredentialKey(serverURL: "r.example")).username == "u")
    }

    @Test("ambient auth files follow containers/image order")
    func ambientOrder() {
        let env = OcicredEnvironment([
            "HOME": "/h", "REGISTRY_AUTH_FILE": "/explicit.json", "XDG_RUNTIME_DIR": "/run/user/0",
            "XDG_CONFIG_HOME": "/cfg", "DOCKER_CONFIG": "/dock",
        ])
        #expect(
            env.ambientAuthFiles == [
                "/explicit.json", "/run/user/0/containers/auth.json", "/cfg/containers/auth.json", "/dock/config.json",
            ])
        let bare = OcicredEnvironment(["HOME": "/h"])
        #expect(
            bare.ambientAuthFiles == [
                "/run/containers/\(getuid())/auth.json", "/h/.config/containers/auth.json", "/h/.docker/config.json",
            ])
        #expect(bare.storeDirectory == "/h/.local/share/ocicred")
        #expect(bare.keyFile == "/h/.config/ocicred/key")
        #expect(
            OcicredEnvironment(["HOME": "/h", "OCICRED_STORE": "/s", "OCICRED_KEY_FILE": "/k"]).storeDirectory == "/s")
    }

    @Test("auth file parsing keeps unknown keys and rejects wrong shapes")
    func authFileParse() async throws {
        let file = try AuthFile.parse(
            Array(
                """
                {"auths":{"a":{}},"credHelpers":{"gcr.io":"gcloud"},"credsStore":"pass","experimental":"enabled",
                 "proxies":{"default":{"httpProxy":"http://p"}}}
                """.utf8))
        #expect(file.credHelpers == ["gcr.io": "gcloud"])
        #expect(file.credsStore == "pass")
        #expect(file.otherFields["experimental"] == .string("enabled"))
        #expect(file.otherFields["proxies"] != nil)
        #expect(throws: AuthFile.ParseError.wrongShape(field: "auths")) {
            try AuthFile.parse(Array("{\"auths\":[]}".utf8))
        }
        #expect(throws: AuthFile.ParseError.notJSON) { try AuthFile.parse(Array("nope".utf8)) }
        #expect(try AuthFile.parse(Array("  \n".utf8)) == AuthFile())
    }
}
