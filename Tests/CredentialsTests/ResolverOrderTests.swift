import Credentials
import Foundation
import Logging
import SystemSupport
import TestSupport
import Testing

/// The resolution order DESIGN.md fixes — config rule, store, provider by host kind, ambient auth files —
/// and the honest-error rules around it.
@Suite("resolution order")
struct ResolverOrderTests {
    let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

    struct Setup {
        let dir: TemporaryDirectory
        var env: [String: String]
        init() throws {
            dir = try TemporaryDirectory()
            env = ["HOME": dir.path]
        }
        func write(_ text: String, _ name: String) throws -> String {
            let path = dir.file(name)
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        func resolver(_ providers: [any CredentialProvider], extra: [String: String] = [:]) -> Resolver {
            Resolver(
                environment: OcicredEnvironment(env.merging(extra) { $1 }), providers: providers,
                logger: Logger(label: "test"))
        }
    }

    @Test("a config rule's provider and identity win over the host kind's defaults")
    func ruleFirst() async throws {
        var setup = try Setup()
        defer { setup.dir.remove() }
        setup.env["OCICRED_CONFIG"] = try setup.write(
            """
            registries:
              - host: "*.dkr.ecr.*.amazonaws.com"
                aws: { profile: build }
            """, "config.yaml")
        let aws = CountingProvider(name: "aws")
        let credential = try await setup.resolver([aws]).resolve(try CredentialKey(serverURL: ecr))
        #expect(credential.username == "aws-user")
        #expect(credential.source == .provider(name: "aws"))
        #expect(aws.mintCount == 1)
    }

    @Test("an alias resolves through the real registry's credentials")
    func alias() async throws {
        var setup = try Setup()
        defer { setup.dir.remove() }
        setup.env["OCICRED_CONFIG"] = try setup.write(
            "registries:\n  - host: cache.internal.example:5000\n    alias: \(ecr)\n", "config.yaml")
        let aws = CountingProvider(name: "aws")
        let credential = try await setup.resolver([aws]).resolve(
            try CredentialKey(serverURL: "cache.internal.example:5000"))
        #expect(credential.secret.exposedValue == "aws-token-1")
    }

    @Test("aliases that loop are refused when the config is read, not followed forever")
    func aliasLoop() async throws {
        var setup = try Setup()
        defer { setup.dir.remove() }
        setup.env["OCICRED_CONFIG"] = try setup.write(
            """
            registries:
              - host: a.example
                alias: b.example
              - host: b.example
                alias: a.example
            """, "config.yaml")
        await #expect {
            try await setup.resolver([]).resolve(try CredentialKey(serverURL: "a.example"))
        } throws: { error in
            guard case CredentialError.config(let config) = error else { return false }
            return config.line == 2 && config.message.contains("forms a loop")
        }
    }

    @Test("a static rule reads the named variables; a missing one is named, its value never shown")
    func staticRule() async throws {
        var setup = try Setup()
        defer { setup.dir.remove() }
        setup.env["OCICRED_CONFIG"] = try setup.write(
            """
            registries:
              - host: ghcr.io
                credentials: [GITHUB_USERNAME, GITHUB_TOKEN]
              - host: nvcr.io
                credentials: [NGC_API_KEY]
              - host: registry.example.com
                credentials: [CI_REGISTRY_USER, CI_REGISTRY_PASSWORD]
            """, "config.yaml")
        let resolver = setup.resolver(
            [],
            extra: [
                "GITHUB_USERNAME": "octo", "GITHUB_TOKEN": "ghp_fake", "NGC_API_KEY": "nvapi-fake",
                "CI_REGISTRY_USER": "ci", "CI_REGISTRY_PASSWORD": "pw:1",
            ])
        let ghcr = try await resolver.resolve(try CredentialKey(serverURL: "ghcr.io"))
        #expect(ghcr.username == "octo" && ghcr.secret.exposedValue == "ghp_fake")
        #expect(try await resolver.resolve(try CredentialKey(serverURL: "nvcr.io")).username == "$oauthtoken")
        let generic = try await resolver.resolve(try CredentialKey(serverURL: "registry.example.com"))
        #expect(generic.username == "ci" && generic.secret.exposedValue == "pw:1")

        let missing = setup.resolver([], extra: ["GITHUB_USERNAME": "octo"])
        do {
            _ = try await missing.resolve(try CredentialKey(serverURL: "ghcr.io"))
            Issue.record("resolved without GITHUB_TOKEN")
        } catch {
            #expect("\(error)".contains("GITHUB_TOKEN"))
            #expect("\(error)".contains("config.yaml:2:5"))
        }
    }

    @Test("stored cloud material goes to its provider")
    func storedMaterial() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        let resolver = setup.resolver([CountingProvider(name: "aws")])
        let key = try CredentialKey(serverURL: "private.example.com")
        try resolver.store.store(
            try CredentialMaterial.parse(
                "{\"AWS_ACCESS_KEY_ID\":\"AKIDFAKE\",\"AWS_SECRET_ACCESS_KEY\":\"x\"}",
                registry: "private.example.com"), for: key)
        #expect(try await resolver.resolve(key).source == .provider(name: "aws"))
    }

    @Test("a provider that applies and fails reports its cause, never not-found")
    func failureIsReported() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        let rejected = ProviderError.rejected(
            provider: "aws", endpoint: "ecr", code: "SignatureDoesNotMatch", message: "signature mismatch")
        await #expect(throws: CredentialError.provider(rejected)) {
            try await setup.resolver([CountingProvider(name: "aws", failure: rejected)]).resolve(
                try CredentialKey(serverURL: ecr))
        }
    }

    @Test("no source: a private ECR host names what was tried; a GCR host falls back to not-found")
    func noSource() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        let none = ProviderError.noSource(provider: "aws", host: ecr, tried: ["environment", "IMDS"])
        await #expect(throws: CredentialError.provider(none)) {
            try await setup.resolver([CountingProvider(name: "aws", failure: none)]).resolve(
                try CredentialKey(serverURL: ecr))
        }
        let gcpNone = ProviderError.noSource(provider: "gcp", host: "gcr.io", tried: ["ADC", "metadata"])
        await #expect(throws: CredentialError.notFound(host: "gcr.io")) {
            try await setup.resolver([CountingProvider(name: "gcp", failure: gcpNone)]).resolve(
                try CredentialKey(serverURL: "gcr.io"))
        }
    }

    @Test("with no source, an auth file entry for the host is still used")
    func ambientAfterNoSource() async throws {
        var setup = try Setup()
        defer { setup.dir.remove() }
        let auth = Data("AWS:token-from-file".utf8).base64EncodedString()
        setup.env["REGISTRY_AUTH_FILE"] = try setup.write(
            "{\"auths\":{\"\(ecr)\":{\"auth\":\"\(auth)\"}}}", "auth.json")
        let none = ProviderError.noSource(provider: "aws", host: ecr, tried: ["environment"])
        let credential = try await setup.resolver([CountingProvider(name: "aws", failure: none)]).resolve(
            try CredentialKey(serverURL: ecr))
        #expect(credential.secret.exposedValue == "token-from-file")
    }

    @Test("minted tokens are served from the shared cache; OCICRED_CACHE=off mints every time")
    func cacheUse() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        let aws = CountingProvider(name: "aws")
        let key = try CredentialKey(serverURL: ecr)
        for _ in 0..<3 { _ = try await setup.resolver([aws]).resolve(key) }
        #expect(aws.mintCount == 1)
        let uncached = CountingProvider(name: "aws")
        for _ in 0..<3 { _ = try await setup.resolver([uncached], extra: ["OCICRED_CACHE": "off"]).resolve(key) }
        #expect(uncached.mintCount == 3)
    }

    @Test("a broken config is an error with its position, not ignored")
    func brokenConfig() async throws {
        var setup = try Setup()
        defer { setup.dir.remove() }
        setup.env["OCICRED_CONFIG"] = try setup.write(
            "registries:\n  - host: a.example\n    provder: aws\n", "config.yaml")
        do {
            _ = try await setup.resolver([]).resolve(try CredentialKey(serverURL: "a.example"))
            Issue.record("broken config accepted")
        } catch {
            #expect("\(error)".contains("config.yaml:3:5"))
        }
    }

    @Test("a generic host nobody knows is not-found without asking any provider")
    func unknownHost() async throws {
        let setup = try Setup()
        defer { setup.dir.remove() }
        let aws = CountingProvider(name: "aws")
        await #expect(throws: CredentialError.notFound(host: "registry.example.com")) {
            try await setup.resolver([aws]).resolve(try CredentialKey(serverURL: "registry.example.com"))
        }
        #expect(aws.mintCount == 0)
    }
}
