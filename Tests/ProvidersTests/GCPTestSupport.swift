import Credentials
import Crypto
import Foundation
import SystemSupport
import TestSupport
import Testing
import Transport

/// An RSA key pair made by the `openssl` CLI in a private temp dir: the private half goes to the code under test,
/// only the public half to a fixture.
struct RSAKeyPair: Sendable {
    let privateKeyPath: String
    let publicKeyPath: String
    var privateKeyPEM: String { (try? String(contentsOfFile: privateKeyPath, encoding: .utf8)) ?? "" }

    init(in directory: TemporaryDirectory, name: String) throws {
        privateKeyPath = directory.file(name + ".pem")
        publicKeyPath = directory.file(name + ".pub.pem")
        for arguments in [
            ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", privateKeyPath],
            ["pkey", "-in", privateKeyPath, "-pubout", "-out", publicKeyPath],
        ] {
            let result = try ProcessRunner.run("openssl", arguments, timeout: 60)
            guard result.status == 0 else { throw TestSetupError("openssl \(arguments[0]) failed: \(result)") }
        }
    }

    /// An RS256 JWT with `claims`, signed by this key (a stand-in for a Kubernetes or CI OIDC token).
    func jwt(_ claims: [String: Any]) throws -> String {
        let header = try JSONSerialization.data(withJSONObject: ["alg": "RS256", "typ": "JWT", "kid": "test"])
        let body = try JSONSerialization.data(withJSONObject: claims)
        return try JWT.sign(headerJSON: Array(header), claimsJSON: Array(body), signer: RSASigner(pem: privateKeyPEM))
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What every provider test shares: a private directory, an environment that reaches no real cloud (HOME in the
/// temp dir, metadata endpoints on a closed loopback port), and the real libcurl client.
struct ProviderTestContext: Sendable {
    let directory: TemporaryDirectory
    let closedPort: Int
    var environment: [String: String]
    let client = CurlHTTPClient(configuration: .fromEnvironment([:]))

    init() throws {
        directory = try TemporaryDirectory(prefix: "ocicred-providers")
        closedPort = try FreePort.pick()
        try FileManager.default.createDirectory(atPath: directory.file("home"), withIntermediateDirectories: true)
        environment = [
            "HOME": directory.file("home"),
            "GCE_METADATA_HOST": "127.0.0.1:\(closedPort)",
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:\(closedPort)",
        ]
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = directory.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func writeJSON(_ name: String, _ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return try write(name, String(decoding: data, as: UTF8.self))
    }

    func request(
        host: String, kind: HostKind, material: CredentialMaterial? = nil, identity: ProviderIdentity = .init()
    ) -> MintRequest {
        MintRequest(
            host: host, kind: kind, material: material, identity: identity,
            environment: OcicredEnvironment(environment))
    }

    func remove() { directory.remove() }
}

/// Runs `body` and returns the `ProviderError` it threw (nil when it did not throw).
func providerError(_ body: () async throws(ProviderError) -> MintedToken) async -> ProviderError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}

/// Runs blocking set-up (openssl key generation, starting a fixture and reading its port) on a Dispatch thread.
/// Done on the test's own task it would hold one of the few cooperative threads (two on a 2-core machine), and
/// other tests' network calls, whose continuations resume on those threads, would stall behind it; the "fails
/// fast" tests measure exactly that latency.
func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

/// A provider test's world: a context and the fixture it talks to. `run` keeps every blocking step (key
/// generation, fixture start and stop, counter reads) off the cooperative pool, and stops the fixture even when
/// the test body throws.
protocol FixtureSetup: Sendable {
    init(fixtureEnvironment: [String: String]) throws
    var fixture: FixtureServer { get }
    func stop()
}

extension FixtureSetup {
    static func run(fixtureEnvironment: [String: String] = [:], _ body: (inout Self) async throws -> Void)
        async throws
    {
        var setup = try await offCooperativePool { try Self(fixtureEnvironment: fixtureEnvironment) }
        do {
            try await body(&setup)
        } catch {
            await setup.stopOffPool()
            throw error
        }
        await setup.stopOffPool()
    }

    /// How often the fixture counted `name` (its `/__counters`).
    func counter(_ name: String) async throws -> Int {
        let fixture = fixture
        return try await offCooperativePool { try fixture.counter(name) }
    }

    func stopOffPool() async {
        let setup = self
        _ = try? await offCooperativePool { setup.stop() }
    }
}

/// The GCP and Azure suites, one test at a time: each test starts a Python fixture and generates RSA keys, and
/// the "fails fast" tests assert wall time, which on a 2-core machine running two dozen of those at once would
/// measure the scheduler rather than the provider.
@Suite(.serialized) enum CloudProviderTests {}
