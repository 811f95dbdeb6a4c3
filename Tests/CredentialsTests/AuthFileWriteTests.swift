import Credentials
import Foundation
import Logging
import SystemSupport
import TestSupport
import Testing

@Suite("auth file writing")
struct AuthFileWriteTests {
    /// A private encrypted store beside the test's files, where configure moves passwords it finds in `auths`.
    static func store(in dir: TemporaryDirectory) -> EncryptedStore {
        EncryptedStore(directory: dir.file("store"), keyFile: dir.file("key"))
    }
    /// A docker config.json as a real user has it: a credsStore, two foreign auths and keys we do not know.
    let existing = """
        {
          "auths": {
            "quay.io": { "auth": "cXVheXVzZXI6cXVheXBhc3M=" },
            "https://index.docker.io/v1/": { "auth": "aHViOmh1YnBhc3M=", "email": "me@example.com" }
          },
          "credsStore": "pass",
          "credHelpers": { "gcr.io": "gcloud" },
          "experimental": "enabled",
          "proxies": { "default": { "httpProxy": "http://proxy.example:3128" } },
          "psFormat": "table {{.ID}}"
        }
        """

    func json(_ bytes: [UInt8]) throws -> NSDictionary {
        try JSONSerialization.jsonObject(with: Data(bytes)) as! NSDictionary
    }

    @Test("authfile merges and keeps credsStore, foreign auths and unknown keys, semantically equal")
    func mergeKeepsEverything() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("config.json")
        try Data(existing.utf8).write(to: URL(fileURLWithPath: path))
        let env = OcicredEnvironment(["HOME": dir.path, "CI_USER": "ci", "CI_PASS": "p:w"])
        let generator = AuthFileGenerator(resolver: Resolver(environment: env, logger: Logger(label: "t")))
        _ = try await generator.generate(
            registries: ["registry.example.com:5000"], fromEnvironment: ["CI_USER", "CI_PASS"], format: .docker,
            into: path, replace: false)
        let after = try json(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        var expected = try json(Array(existing.utf8)) as! [String: Any]
        var auths = expected["auths"] as! [String: Any]
        auths["registry.example.com:5000"] = ["auth": Data("ci:p:w".utf8).base64EncodedString()]
        expected["auths"] = auths
        #expect(after == expected as NSDictionary)
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
    }

    @Test("configure adds credHelpers, keeps the rest, and is idempotent")
    func configureIdempotent() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("config.json")
        try Data(existing.utf8).write(to: URL(fileURLWithPath: path))
        let first = try await CredHelperConfigurator.configure(
            path: path, hosts: ["123456789012.dkr.ecr.us-east-1.amazonaws.com", "ghcr.io"], dryRun: false,
            store: Self.store(in: dir))
        #expect(first.changed)
        let after = try json(first.after) as! [String: Any]
        #expect(
            after["credHelpers"] as? [String: String] == [
                "gcr.io": "gcloud", "123456789012.dkr.ecr.us-east-1.amazonaws.com": "ocicred", "ghcr.io": "ocicred",
            ])
        var withoutHelpers = after
        withoutHelpers["credHelpers"] = nil
        var original = try json(Array(existing.utf8)) as! [String: Any]
        original["credHelpers"] = nil
        #expect(withoutHelpers as NSDictionary == original as NSDictionary)
        let mtime = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        let second = try await CredHelperConfigurator.configure(
            path: path, hosts: ["ghcr.io"], dryRun: false, store: Self.store(in: dir))
        #expect(!second.changed)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date == mtime)
    }

    @Test("dry run changes nothing on disk")
    func dryRun() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("auth.json")
        try Data(existing.utf8).write(to: URL(fileURLWithPath: path))
        let result = try await CredHelperConfigurator.configure(
            path: path, hosts: ["ghcr.io"], dryRun: true, store: Self.store(in: dir))
        #expect(result.changed)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == existing)
    }

    @Test("a malformed auth file is refused and left byte-identical")
    func malformedUntouched() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("auth.json")
        let garbage = Data("{\"auths\": {\"quay.io\": {\"auth\": \"abc\"}".utf8)
        try garbage.write(to: URL(fileURLWithPath: path))
        await #expect(throws: CredentialError.self) {
            try await CredHelperConfigurator.configure(
                path: path, hosts: ["ghcr.io"], dryRun: false, store: Self.store(in: dir))
        }
        let env = OcicredEnvironment(["HOME": dir.path, "U": "u", "P": "p"])
        await #expect(throws: CredentialError.self) {
            try await AuthFileGenerator(resolver: Resolver(environment: env, logger: Logger(label: "t"))).generate(
                registries: ["r.example"], fromEnvironment: ["U", "P"], format: .containers, into: path, replace: false)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == garbage)
    }

    @Test("formats key Docker Hub their own way; identity tokens use identitytoken")
    func formats() throws {
        var file = AuthFile()
        let hub = try CredentialKey(serverURL: "docker.io")
        file.setCredential(username: "hub", secret: Secret("pw"), for: hub, format: .docker)
        #expect(file.auths.keys.sorted() == ["https://index.docker.io/v1/"])
        file.setCredential(username: "hub2", secret: Secret("pw2"), for: hub, format: .containers)
        #expect(file.auths.keys.sorted() == ["docker.io"])
        file.setCredential(
            username: "<token>", secret: Secret("idt"), for: try CredentialKey(serverURL: "r.example"),
            format: .containers)
        #expect(file.auths["r.example"] == .object(["identitytoken": .string("idt")]))
    }

    @Test("replace starts from an empty file")
    func replace() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("auth.json")
        try Data(existing.utf8).write(to: URL(fileURLWithPath: path))
        let env = OcicredEnvironment(["HOME": dir.path, "U": "u", "P": "p"])
        _ = try await AuthFileGenerator(resolver: Resolver(environment: env, logger: Logger(label: "t"))).generate(
            registries: ["r.example"], fromEnvironment: ["U", "P"], format: .containers, into: path, replace: true)
        let after = try json(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) as! [String: Any]
        #expect(after.keys.sorted() == ["auths"])
        #expect((after["auths"] as! [String: Any]).keys.sorted() == ["r.example"])
    }

    @Test("one registry that cannot be resolved leaves the file as it was")
    func allOrNothing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("auth.json")
        try Data(existing.utf8).write(to: URL(fileURLWithPath: path))
        let env = OcicredEnvironment(["HOME": dir.path])
        await #expect(throws: CredentialError.notFound(host: "nobody.example")) {
            try await AuthFileGenerator(resolver: Resolver(environment: env, logger: Logger(label: "t"))).generate(
                registries: ["nobody.example"], fromEnvironment: [], format: .containers, into: path, replace: false)
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == existing)
    }
}
