import Foundation

/// Errors of the fixtures that start real programs; each says what to install or where to look.
package enum FixtureError: Error, CustomStringConvertible {
    case missingProgram(name: String, debianPackage: String)
    case commandFailed(command: String, result: ProcessResult)
    case notListening(program: String, port: Int, log: String)
    /// A fixture's test control answered something other than what it documents.
    case unexpectedAnswer(control: String, answer: String)

    package var description: String {
        switch self {
        case .missingProgram(let name, let debianPackage):
            return "\(name) is not installed: run helpers/test, or apt-get install \(debianPackage)"
        case .commandFailed(let command, let result):
            return "\(command) failed: \(result)"
        case .notListening(let program, let port, let log):
            return "\(program) did not listen on 127.0.0.1:\(port); its log:\n\(log)"
        case .unexpectedAnswer(let control, let answer):
            return "the fixture's \(control) answered \(answer)"
        }
    }

    /// Throws `.missingProgram` for the first program of `programs` (name → Debian package) not on PATH.
    /// Integration tests fail with this message rather than skip: helpers/test installs every one of them.
    package static func requirePrograms(_ programs: KeyValuePairs<String, String>) throws {
        for (name, package) in programs where !ProcessRunner.isInstalled(name) {
            throw FixtureError.missingProgram(name: name, debianPackage: package)
        }
    }
}

/// The Debian `docker-registry` (CNCF distribution) serving plain HTTP on a free 127.0.0.1 port with htpasswd
/// (bcrypt) basic auth for one user, its storage and config in a private temporary directory.
/// Call `stop()` in a `defer`; `deinit` stops it too, so a failing test never leaves it running.
package final class RegistryFixture: @unchecked Sendable {
    package let port: Int
    package let username: String
    /// `127.0.0.1:PORT`: the registry's name in image references and the credential helpers' server URL.
    package var host: String { "127.0.0.1:\(port)" }

    private let peer: PeerProcess
    private var process: Process { peer.process }
    private var directory: TemporaryDirectory { peer.directory }

    private init(port: Int, username: String, process: Process, directory: TemporaryDirectory) {
        self.port = port
        self.username = username
        peer = PeerProcess(process: process, directory: directory)
    }

    /// Starts a registry that accepts `username` with `password`. The password reaches `htpasswd` on stdin only,
    /// never as an argument. With `tls` it serves HTTPS with that certificate instead of plain HTTP.
    ///
    /// With `redirectBlobsTo` (an https base URL), blob downloads are answered with a redirect there, as
    /// distribution's `redirect` storage middleware does for S3 or a CDN; `storageDirectory` is what that other
    /// host must serve.
    package static func start(
        username: String, password: String, tls: SelfSignedCertificate? = nil, redirectBlobsTo: String? = nil
    ) throws -> RegistryFixture {
        try FixtureError.requirePrograms(["docker-registry": "docker-registry", "htpasswd": "apache2-utils"])
        let directory = try TemporaryDirectory(prefix: "ocicred-registry")
        do {
            let htpasswd = try ProcessRunner.run(
                "htpasswd", ["-iBn", username], stdin: Data((password + "\n").utf8), timeout: 30)
            guard htpasswd.status == 0 else {
                throw FixtureError.commandFailed(command: "htpasswd -iBn \(username)", result: htpasswd)
            }
            try htpasswd.stdout.write(to: URL(fileURLWithPath: directory.file("htpasswd")))
            try FileManager.default.createDirectory(
                atPath: directory.file("data"), withIntermediateDirectories: true)

            let (port, process) = try DockerRegistryProcess.start(in: directory) { port in
                try launch(in: directory, port: port, tls: tls, redirect: redirectBlobsTo)
            }
            return RegistryFixture(port: port, username: username, process: process, directory: directory)
        } catch {
            directory.remove()
            throw error
        }
    }

    private static func launch(
        in directory: TemporaryDirectory, port: Int, tls: SelfSignedCertificate?, redirect: String?
    ) throws -> Process {
        let tlsSection =
            tls.map {
                "\n  tls:\n    certificate: \($0.certificateFile)\n    key: \($0.keyFile)"
            } ?? ""
        let middleware =
            redirect.map {
                "middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: \($0)\n"
            } ?? ""
        let config = DockerRegistryProcess.config(
            in: directory, port: port, http: tlsSection,
            auth: "  htpasswd:\n    realm: ocicred-test\n    path: \(directory.file("htpasswd"))", tail: middleware)
        return try serve(config: config, in: directory)
    }

    /// Writes `config` as the registry's config.yml in `directory` and starts `docker-registry serve` on it,
    /// logging to registry.log there. Shared by the htpasswd and the token-auth fixtures.
    static func serve(config: String, in directory: TemporaryDirectory) throws -> Process {
        try config.write(toFile: directory.file("config.yml"), atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: directory.file("registry.log"), contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("registry.log")))
        defer { try? log.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessRunner.resolve("docker-registry"))
        process.arguments = ["serve", directory.file("config.yml")]
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
        // helpers/test marks every process of its run so its trap can stop anything a crashed test left behind.
        if let session = ProcessInfo.processInfo.environment["OCICRED_TEST_SESSION"] {
            environment["OCICRED_TEST_SESSION"] = session
        }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
        return process
    }

    /// The registry's filesystem storage root (blobs live under docker/registry/v2/blobs).
    package var storageDirectory: String { directory.file("data") }

    /// What the registry logged so far (requests, auth failures); for failure messages.
    package var log: String {
        (try? String(contentsOfFile: directory.file("registry.log"), encoding: .utf8)) ?? ""
    }

    /// Stops the registry and removes its files; safe to call more than once.
    package func stop() {
        peer.stop()
    }

    deinit { stop() }
}
