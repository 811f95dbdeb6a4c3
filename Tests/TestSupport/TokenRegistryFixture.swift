import Foundation

/// A self-signed certificate and its key, made by the `openssl` CLI in a private directory: the token server's
/// signing certificate (and the registry's `rootcertbundle`), or a TLS registry's server certificate.
package struct SelfSignedCertificate: Sendable {
    package let certificateFile: String
    package let keyFile: String

    /// A certificate for 127.0.0.1 (CN and IP SAN), as a registry on loopback serves.
    package static func loopback(in directory: String, name: String) throws -> SelfSignedCertificate {
        try make(in: directory, name: name, commonName: "127.0.0.1", subjectAltNames: ["IP:127.0.0.1"])
    }

    /// `subjectAltNames` like `["IP:127.0.0.1", "DNS:localhost"]`, for a server certificate.
    package static func make(
        in directory: String, name: String, commonName: String, subjectAltNames: [String] = []
    ) throws -> SelfSignedCertificate {
        try FixtureError.requirePrograms(["openssl": "openssl"])
        let certificate = directory + "/\(name).crt"
        let key = directory + "/\(name).key"
        var arguments = [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2", "-keyout", key, "-out",
            certificate, "-subj", "/CN=\(commonName)",
        ]
        if !subjectAltNames.isEmpty {
            arguments += ["-addext", "subjectAltName=" + subjectAltNames.joined(separator: ",")]
        }
        let result = try ProcessRunner.run("openssl", arguments, timeout: 60)
        guard result.status == 0 else {
            throw FixtureError.commandFailed(command: "openssl req -x509", result: result)
        }
        return SelfSignedCertificate(certificateFile: certificate, keyFile: key)
    }
}

/// A user of the token server: everyone authenticated may pull; only users with `push` may push.
package struct TokenUser: Sendable {
    package let name: String
    package let password: String
    package let push: Bool

    package init(name: String, password: String, push: Bool) {
        self.name = name
        self.password = password
        self.push = push
    }
}

/// The Debian `docker-registry` (CNCF distribution 2.8) with token authentication (`auth: token:`) on a free
/// 127.0.0.1 port, plus `Tests/Fixtures/token_server.py` as its realm. The token server signs RS256 JWTs with a
/// key the test makes with the openssl CLI and puts the certificate in the JWT header's `x5c`; the registry
/// trusts that same certificate as its `rootcertbundle`. Users and passwords reach the token server in its
/// environment only. Call `stop()` in a `defer`; `deinit` stops both processes too.
package final class TokenRegistryFixture: @unchecked Sendable {
    package static let service = "ocicred-test-registry"
    package static let issuer = "ocicred-test-token-issuer"

    package let port: Int
    package let tokenServer: FixtureServer
    /// `127.0.0.1:PORT`.
    package var host: String { "127.0.0.1:\(port)" }
    package var realm: String { tokenServer.baseURL + "/token" }

    private let peer: PeerProcess
    private var process: Process { peer.process }
    private var directory: TemporaryDirectory { peer.directory }

    private init(port: Int, tokenServer: FixtureServer, process: Process, directory: TemporaryDirectory) {
        self.port = port
        self.tokenServer = tokenServer
        peer = PeerProcess(process: process, directory: directory)
    }

    /// `tokenLifetime` is the tokens' `expires_in` and `exp - iat`, in seconds.
    package static func start(users: [TokenUser], tokenLifetime: Int = 300) throws -> TokenRegistryFixture {
        try FixtureError.requirePrograms(["docker-registry": "docker-registry", "python3": "python3"])
        let directory = try TemporaryDirectory(prefix: "ocicred-token-registry")
        var tokenServer: FixtureServer?
        do {
            let signing = try SelfSignedCertificate.make(
                in: directory.path, name: "token-signing", commonName: "ocicred test token issuer")
            var table: [String: [String: Any]] = [:]
            for user in users { table[user.name] = ["password": user.password, "push": user.push] }
            let usersJSON = String(decoding: try JSONSerialization.data(withJSONObject: table), as: UTF8.self)
            let server = try FixtureServer(
                script: "token_server.py",
                arguments: [
                    "--key", signing.keyFile, "--cert", signing.certificateFile, "--issuer", issuer, "--service",
                    service, "--lifetime", String(tokenLifetime),
                ],
                environment: ["TOKEN_SERVER_USERS": usersJSON])
            tokenServer = server
            try FileManager.default.createDirectory(atPath: directory.file("data"), withIntermediateDirectories: true)

            let (port, process) = try DockerRegistryProcess.start(in: directory) { port in
                try launch(
                    in: directory, port: port, realm: server.baseURL + "/token",
                    rootCertificate: signing.certificateFile)
            }
            return TokenRegistryFixture(port: port, tokenServer: server, process: process, directory: directory)
        } catch {
            tokenServer?.stop()
            directory.remove()
            throw error
        }
    }

    private static func launch(in directory: TemporaryDirectory, port: Int, realm: String, rootCertificate: String)
        throws -> Process
    {
        let config = DockerRegistryProcess.config(
            in: directory, port: port,
            auth: """
                  token:
                    realm: \(realm)
                    service: \(service)
                    issuer: \(issuer)
                    rootcertbundle: \(rootCertificate)
                """)
        return try RegistryFixture.serve(config: config, in: directory)
    }

    /// What the registry logged so far; for failure messages.
    package var log: String {
        (try? String(contentsOfFile: directory.file("registry.log"), encoding: .utf8)) ?? ""
    }

    /// How often the token server counted `name` (token-basic, token-refresh, token-rejected, …).
    package func tokenCounter(_ name: String) throws -> Int { try tokenServer.counter(name) }

    /// Every token the server issued, whichever grant asked (basic, password, refresh).
    package func tokensIssued() throws -> Int {
        try tokenCounter("token-basic") + tokenCounter("token-password") + tokenCounter("token-refresh")
    }

    /// Stops the registry, then the token server, and removes their files; safe to call more than once.
    package func stop() {
        peer.stop(before: tokenServer.stop)
    }

    deinit { stop() }
}
