import Foundation
import TestSupport
import Testing

/// `ocicred login` and `ocicred verify` as a person or a CI job types them, against the Debian docker-registry
/// with htpasswd auth and with token auth, and against registries that are down or speak TLS we do not trust.
/// Passwords reach ocicred on stdin (login) or through the helper's `store` (stdin), never in argv.
@Suite(.serialized)
struct LoginVerifyTests {
    static func makePassword() -> String { "pw:with:colons-" + UUID().uuidString.prefix(8).lowercased() }

    /// A private HOME for ocicred (store, key, config), with no registries.conf drop-ins from the machine.
    final class Home {
        let directory: TemporaryDirectory
        var path: String { directory.path }
        init() throws {
            directory = try TemporaryDirectory(prefix: "ocicred-login")
            try FileManager.default.createDirectory(
                atPath: path + "/registries.conf.d", withIntermediateDirectories: true)
        }
        /// Points registries.conf and certs.d into the home so nothing of the machine's setup leaks in.
        var environment: [String: String] {
            [
                "CONTAINERS_REGISTRIES_CONF": path + "/registries.conf",
                "OCICRED_REGISTRIES_CONF_DIR": path + "/registries.conf.d",
                "OCICRED_CERTS_DIRS": path + "/certs.d",
            ]
        }
        func run(_ arguments: [String], stdin: String = "", extra: [String: String] = [:]) throws -> ProcessResult {
            try OcicredBinary.run(
                arguments, home: path, stdin: stdin, extraEnvironment: environment.merging(extra) { $1 })
        }
        func login(_ host: String, _ username: String, _ password: String, _ flags: [String] = []) throws
            -> ProcessResult
        {
            try run(["login", host, "-u", username, "--password-stdin"] + flags, stdin: password + "\n")
        }
        /// What `docker-credential-ocicred list` shows: server URL → username.
        func listed() throws -> [String: String] {
            let list = try OcicredBinary.helper("list", home: path, stdin: Data(), extraEnvironment: environment)
            try #require(list.status == 0, "list: \(list)")
            return try JSONDecoder().decode([String: String].self, from: list.stdout)
        }
        func store(_ host: String, _ username: String, _ secret: String) throws {
            let body = try JSONSerialization.data(withJSONObject: [
                "ServerURL": host, "Username": username, "Secret": secret,
            ])
            let store = try OcicredBinary.helper("store", home: path, stdin: body, extraEnvironment: environment)
            try #require(store.status == 0, "store: \(store)")
        }
        func remove() { directory.remove() }
    }

    func expectNoSecret(_ result: ProcessResult, _ password: String, sourceLocation: SourceLocation = #_sourceLocation)
    {
        #expect(
            !result.stdoutText.contains(password) && !result.stderrText.contains(password),
            "output holds the password", sourceLocation: sourceLocation)
    }

    /// An htpasswd registry for `ci-user` with a fresh password, and an empty home; both gone after `body`.
    private func withRegistryAndHome(_ body: (RegistryFixture, Home, String) throws -> Void) throws {
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: "ci-user", password: password)
        defer { registry.stop() }
        let home = try Home()
        defer { home.remove() }
        try body(registry, home, password)
    }

    /// As `withRegistryAndHome`, the registry serving TLS with a self-signed certificate the home does not trust.
    private func withTLSRegistryAndHome(
        _ body: (RegistryFixture, Home, String, SelfSignedCertificate) throws -> Void
    ) throws {
        let password = Self.makePassword()
        let home = try Home()
        defer { home.remove() }
        let certificate = try SelfSignedCertificate.loopback(in: home.path, name: "registry-tls")
        let registry = try RegistryFixture.start(username: "ci-user", password: password, tls: certificate)
        defer { registry.stop() }
        try body(registry, home, password, certificate)
    }

    @Test func loginChecksThePasswordBeforeStoringItOnAnHtpasswdRegistry() throws {
        try withRegistryAndHome { registry, home, password in
            let wrong = try home.login(registry.host, "ci-user", "not-the-password")
            #expect(wrong.status == 3, "wrong password: \(wrong)")
            #expect(wrong.stderrText.contains("rejected the credentials"), "\(wrong.stderrText)")
            #expect(!wrong.stdoutText.contains("Login Succeeded"))
            #expect(try home.listed()[registry.host] == nil, "a rejected password was stored")

            let right = try home.login(registry.host, "ci-user", password)
            #expect(right.status == 0, "right password: \(right)\n\(registry.log)")
            #expect(right.stdoutText.contains("Login Succeeded"))
            expectNoSecret(right, password)
            #expect(try home.listed()[registry.host] == "ci-user")

            // verify resolves what get would hand out (the stored entry) and checks pull, then push by starting and
            // cancelling a blob upload (basic auth has no grant to read).
            let verify = try home.run(["verify", registry.host, "--repository", "team/app", "--push"])
            #expect(verify.status == 0, "verify: \(verify)\n\(registry.log)")
            #expect(verify.stdoutText.contains("credentials OK (user ci-user"), "\(verify.stdoutText)")
            #expect(verify.stdoutText.contains("authenticated (basic)"), "\(verify.stdoutText)")
            #expect(verify.stdoutText.contains("push on team/app"), "\(verify.stdoutText)")
            #expect(registry.log.contains("\"POST /v2/team/app/blobs/uploads/"), "no upload was started")
            #expect(registry.log.contains("\"DELETE /v2/team/app/blobs/uploads/"), "the probe upload was not cancelled")
            expectNoSecret(verify, password)
        }
    }

    @Test func verifyReportsAPasswordChangedAfterLoginAsRejected() throws {
        try withRegistryAndHome { registry, home, password in
            try home.store(registry.host, "ci-user", "stale-password")

            let verify = try home.run(["verify", registry.host])
            #expect(verify.status == 3, "\(verify)")
            #expect(verify.stderrText.contains("\(registry.host) rejected the credentials"), "\(verify.stderrText)")
        }
    }

    @Test func loginAndVerifyAgainstATokenAuthRegistry() throws {
        let pusherPassword = Self.makePassword()
        let readerPassword = Self.makePassword()
        let registry = try TokenRegistryFixture.start(users: [
            TokenUser(name: "pusher", password: pusherPassword, push: true),
            TokenUser(name: "reader", password: readerPassword, push: false),
        ])
        defer { registry.stop() }
        let pusher = try Home()
        defer { pusher.remove() }
        let reader = try Home()
        defer { reader.remove() }

        let wrong = try pusher.login(registry.host, "pusher", "wrong")
        #expect(wrong.status == 3, "wrong password: \(wrong)")
        #expect(wrong.stderrText.contains("incorrect username or password"), "\(wrong.stderrText)")
        #expect(try pusher.listed().isEmpty, "a rejected password was stored")
        #expect(try registry.tokenCounter("token-rejected") >= 1)

        let login = try pusher.login(registry.host, "pusher", pusherPassword)
        #expect(login.status == 0, "login: \(login)\n\(registry.log)")
        #expect(login.stdoutText.contains("Login Succeeded"))
        #expect(try pusher.listed()[registry.host] == "pusher")

        let push = try pusher.run(["verify", registry.host, "--repository", "team/app", "--push"])
        #expect(push.status == 0, "verify --push as pusher: \(push)\n\(registry.log)")
        #expect(push.stdoutText.contains("authenticated (bearer)"), "\(push.stdoutText)")
        #expect(push.stdoutText.contains("push on team/app"), "\(push.stdoutText)")

        let readerLogin = try reader.login(registry.host, "reader", readerPassword)
        #expect(readerLogin.status == 0, "login reader: \(readerLogin)")
        let pull = try reader.run(["verify", "\(registry.host)/team/app"])
        #expect(pull.status == 0, "verify pull as reader: \(pull)")
        #expect(pull.stdoutText.contains("pull on team/app"), "\(pull.stdoutText)")
        let denied = try reader.run(["verify", registry.host, "--repository", "team/app", "--push"])
        #expect(denied.status == 3, "verify --push as reader: \(denied)")
        #expect(denied.stderrText.contains("do not allow push on team/app"), "\(denied.stderrText)")
        #expect(denied.stderrText.contains("granted pull"), "\(denied.stderrText)")
        expectNoSecret(denied, readerPassword)
    }

    @Test func verifyWithoutCredentialsExits2WithoutTouchingTheNetwork() throws {
        let home = try Home()
        defer { home.remove() }
        let port = try FreePort.pick()  // nothing listens: a network attempt would end in exit 4, not 2
        let verify = try home.run(["verify", "127.0.0.1:\(port)"])
        #expect(verify.status == 2, "\(verify)")
        #expect(verify.stderrText.contains("no credentials for 127.0.0.1:\(port)"), "\(verify.stderrText)")
    }

    @Test func anUnreachableRegistryExits4Quickly() throws {
        let home = try Home()
        defer { home.remove() }
        let host = "127.0.0.1:\(try FreePort.pick())"
        try home.store(host, "someone", "something")

        let started = Date()
        let verify = try home.run(["verify", host])
        #expect(verify.status == 4, "\(verify)")
        #expect(verify.stderrText.contains("cannot reach \(host)"), "\(verify.stderrText)")
        #expect(
            Date().timeIntervalSince(started) < 10, "a refused connection took \(Date().timeIntervalSince(started)) s")

        let login = try home.login(host, "someone", "else")
        #expect(login.status == 4, "\(login)")
        #expect(try home.listed()[host] == "someone", "the unverified login replaced the stored entry")
    }

    @Test func aRegistryThatWentDownExits4() throws {
        try withRegistryAndHome { registry, home, password in
            let login = try home.login(registry.host, "ci-user", password)
            try #require(login.status == 0, "login: \(login)")

            registry.stop()
            let verify = try home.run(["verify", registry.host])
            #expect(verify.status == 4, "\(verify)")
            #expect(verify.stderrText.contains("cannot reach \(registry.host)"), "\(verify.stderrText)")
        }
    }

    @Test func anUntrustedCertificateExits5UnlessTrustedOrVerificationIsOff() throws {
        try withTLSRegistryAndHome { registry, home, password, certificate in
            try home.store(registry.host, "ci-user", password)

            let untrusted = try home.run(["verify", registry.host])
            #expect(untrusted.status == 5, "\(untrusted)")
            #expect(untrusted.stderrText.contains("TLS with \(registry.host) failed"), "\(untrusted.stderrText)")
            #expect(untrusted.stderrText.contains("--tls-verify=false"), "\(untrusted.stderrText)")

            let unverified = try home.run(["verify", registry.host, "--tls-verify=false"])
            #expect(unverified.status == 0, "\(unverified)")
            #expect(unverified.stdoutText.contains("https://\(registry.host)"), "\(unverified.stdoutText)")

            let wrongLogin = try home.login(registry.host, "ci-user", "wrong", ["--tls-verify=false"])
            #expect(wrongLogin.status == 3, "\(wrongLogin)")

            // The podman way to trust it: certs.d/<host:port>/ca.crt (the root moved by OCICRED_CERTS_DIRS).
            let certsDirectory = home.path + "/certs.d/" + registry.host
            try FileManager.default.createDirectory(atPath: certsDirectory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: certificate.certificateFile, toPath: certsDirectory + "/ca.crt")
            let trusted = try home.run(["verify", registry.host])
            #expect(trusted.status == 0, "with certs.d: \(trusted)")
        }
    }

    @Test func registriesConfMarksARegistryInsecure() throws {
        try withTLSRegistryAndHome { registry, home, password, certificate in
            try """
            unqualified-search-registries = ["docker.io"]

            [[registry]]
            location = "\(registry.host)"
            insecure = true
            """.write(toFile: home.path + "/registries.conf.d/50-test.conf", atomically: true, encoding: .utf8)
            let login = try home.login(registry.host, "ci-user", password)
            #expect(login.status == 0, "login to an insecure registry: \(login)")

            try "[[registry]]\nlocation = \"\(registry.host)\"\ninsecure = \"yes\"\n".write(
                toFile: home.path + "/registries.conf.d/50-test.conf", atomically: true, encoding: .utf8)
            let broken = try home.run(["verify", registry.host])
            #expect(broken.status == 1, "\(broken)")
            #expect(
                broken.stderrText.contains("50-test.conf:3: insecure must be true or false"), "\(broken.stderrText)")
        }
    }
}
