import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a new user meets first, with only the README and `--help`: errors that name the real cause (a wrong
/// password is not "ask an administrator"), a hung registry that costs the time the message states, flags that
/// mean what their help says, a group-writable `~/.local/share` under umask 002, and help and error texts that
/// point at things that exist. Each runs the built binary against real peers on 127.0.0.1.
@Suite(.serialized)
struct FirstUseTests {
    static func makePassword() -> String { "first:use-" + UUID().uuidString.prefix(8).lowercased() }

    /// A private HOME whose registry settings (registries.conf, certs.d, cache) stay inside it.
    final class Home {
        let directory: TemporaryDirectory
        let environment: [String: String]
        var path: String { directory.path }
        init() throws {
            directory = try TemporaryDirectory(prefix: "ocicred-first-use")
            environment = try OcicredBinary.registryEnvironment(home: directory.path)
        }
        func run(_ arguments: [String], stdin: String = "", extra: [String: String] = [:], timeout: Double = 60) throws
            -> ProcessResult
        {
            try OcicredBinary.run(
                arguments, home: path, stdin: stdin, extraEnvironment: environment.merging(extra) { $1 },
                timeout: timeout)
        }
        /// `docker-credential-ocicred store`, as podman's login through the helper does it.
        func store(_ host: String, _ username: String, _ secret: String, extra: [String: String] = [:]) throws
            -> ProcessResult
        {
            let body = try JSONSerialization.data(withJSONObject: [
                "ServerURL": host, "Username": username, "Secret": secret,
            ])
            return try OcicredBinary.helper(
                "store", home: path, stdin: body, extraEnvironment: environment.merging(extra) { $1 })
        }
        func remove() { directory.remove() }
    }

    // MARK: - A wrong password is a wrong password (item 2)

    /// `verify` already told a rejected password from a missing permission; `index` and `mount` mapped every
    /// 401 on a manifest to "valid but do not allow pull; ask the administrator". With htpasswd, a wrong password
    /// gets 401 on every path, so the answer must be "rejected", exit 3, as `verify` says.
    @Test func aWrongPasswordOnIndexAndMountIsReportedAsRejected() throws {
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: "first-user", password: password)
        defer { registry.stop() }
        let home = try Home()
        defer { home.remove() }
        let stored = try home.store(registry.host, "first-user", "not-the-password")
        try #require(stored.status == 0, "\(stored)")

        let verify = try home.run(["verify", registry.host, "--repository", "team/app"])
        #expect(verify.status == 3 && verify.stderrText.contains("rejected the credentials"), "verify: \(verify)")

        let index = try home.run(["index", "\(registry.host)/team/app:v1"])
        #expect(index.status == 3, "index: \(index)")
        #expect(index.stderrText.contains("\(registry.host) rejected the credentials"), "index: \(index)")
        #expect(!index.stderrText.contains("do not allow"), "index: \(index)")
        #expect(!index.stderrText.contains("not-the-password"))

        let mountpoint = home.path + "/mnt"
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        let mount = try home.run(["mount", "\(registry.host)/team/app:v1", mountpoint])
        #expect(mount.status == 3, "mount: \(mount)")
        #expect(mount.stderrText.contains("rejected the credentials"), "mount: \(mount)")
        #expect(!mount.stderrText.contains("do not allow"), "mount: \(mount)")
    }

    // MARK: - A password podman already left in the auth file (item 3)

    /// A user who ran `podman login` before `ocicred configure` has the password base64 in `auths`. What they
    /// expect from configure: still logged in, the secret now in the encrypted store and gone from the file —
    /// said in --dry-run before it happens — and a later `podman login` (now through the helper) leaving no
    /// clear-text entry beside the credHelpers one.
    @Test func configureMovesAPasswordPodmanLeftInTheAuthFileIntoTheStore() throws {
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: "first-user", password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }
        let stdin = Data((password + "\n").utf8)
        let login = ["login", "-u", "first-user", "--password-stdin", "--tls-verify=false", registry.host]
        let first = try sandbox.run("podman", login, stdin: stdin)
        try #require(first.status == 0, "podman login without a helper: \(first)")
        let encoded = Data("first-user:\(password)".utf8).base64EncodedString()
        try #require(String(decoding: try sandbox.authFileContents(), as: UTF8.self).contains(encoded))

        let dryRun = try sandbox.ocicred(["configure", "--registry", registry.host, "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun)")
        #expect(dryRun.stdoutText.contains("\(registry.host): the password podman left in"), "\(dryRun)")
        #expect(dryRun.stdoutText.contains("would move into the encrypted store"), "\(dryRun)")
        #expect(!dryRun.stdoutText.contains(encoded) && !dryRun.stdoutText.contains(password), "\(dryRun)")
        #expect(String(decoding: try sandbox.authFileContents(), as: UTF8.self).contains(encoded), "dry run wrote")

        let configured = try sandbox.ocicred(["configure", "--registry", registry.host])
        #expect(configured.status == 0, "\(configured)")
        #expect(configured.stdoutText.contains("moved the password podman left in"), "\(configured)")
        let after = try #require(
            try JSONSerialization.jsonObject(with: try sandbox.authFileContents()) as? [String: Any])
        #expect((after["auths"] as? [String: Any])?[registry.host] == nil, "the clear-text entry stayed: \(after)")
        #expect((after["credHelpers"] as? [String: String])?[registry.host] == "ocicred")
        let got = try sandbox.ocicred(["get", registry.host])
        #expect(got.status == 0 && got.stdoutText.contains("first-user (from encrypted store"), "\(got)")
        let still = try sandbox.run("podman", ["login", "--get-login", registry.host])
        #expect(still.status == 0 && still.stdoutText.contains("first-user"), "podman still logged in: \(still)")

        // podman login again, now through the helper: the file keeps no password.
        let again = try sandbox.run("podman", login, stdin: stdin)
        #expect(again.status == 0, "\(again)")
        let text = String(decoding: try sandbox.authFileContents(), as: UTF8.self)
        #expect(!text.contains(encoded) && !text.contains(password), "the auth file holds the password: \(text)")
        let twice = try sandbox.ocicred(["configure", "--registry", registry.host])
        #expect(twice.stdoutText.contains("already configured"), "\(twice)")
    }

    /// A file an older `configure` left with both the credHelpers entry and podman's base64 password (podman
    /// login through the helper never removed it): running configure again clears it, keeping the store's entry.
    @Test func configureAgainClearsAPasswordLeftBesideTheHelperEntry() throws {
        let home = try Home()
        defer { home.remove() }
        try #require(try home.store("registry.example", "stored-user", "stored-secret").status == 0)
        let path = home.path + "/auth.json"
        let encoded = Data("old-user:old-secret".utf8).base64EncodedString()
        try Data(
            #"{"auths":{"registry.example":{"auth":"\#(encoded)"}},"credHelpers":{"registry.example":"ocicred"}}"#
                .utf8
        ).write(to: URL(fileURLWithPath: path))
        let dryRun = try home.run(["configure", "--authfile", path, "--registry", "registry.example", "--dry-run"])
        #expect(dryRun.stdoutText.contains("clear-text auths entry in \(path) would be removed"), "\(dryRun)")
        #expect(!dryRun.stdoutText.contains(encoded), "\(dryRun)")
        let result = try home.run(["configure", "--authfile", path, "--registry", "registry.example"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.contains("clear-text auths entry in \(path) was removed"), "\(result)")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains(encoded), "\(text)")
        let got = try home.run(["get", "registry.example"])
        #expect(got.stdoutText.contains("stored-user (from encrypted store"), "the store's entry is kept: \(got)")
    }

    // MARK: - --tls-verify=true means HTTPS (item 9)

    /// podman refuses to log in over plain HTTP with `--tls-verify=true`, even to a loopback registry; so must
    /// ocicred, whose help says "Require HTTPS". Without the flag, loopback may still fall back to http.
    @Test func tlsVerifyTrueNeverSpeaksPlainHTTPToLoopback() throws {
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: "first-user", password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }
        try sandbox.useOwnRegistriesAndCertificates()
        let stdin = Data((password + "\n").utf8)
        let login = ["login", "-u", "first-user", "--password-stdin"]

        let podman = try sandbox.run("podman", login + ["--tls-verify=true", registry.host], stdin: stdin)
        #expect(podman.status != 0, "podman --tls-verify=true over plain HTTP: \(podman)")
        for flag in ["--tls-verify=true", "--tls-verify"] {
            let ocicred = try sandbox.ocicred(login + [flag, registry.host], stdin: stdin)
            #expect(ocicred.status == 5, "ocicred \(flag): \(ocicred)")
            #expect(!ocicred.stdoutText.contains("Login Succeeded"), "\(ocicred)")
        }
        let plain = try sandbox.ocicred(login + [registry.host], stdin: stdin)
        #expect(plain.status == 0, "without the flag loopback falls back to http: \(plain)")
        let verify = try sandbox.ocicred(["verify", "--tls-verify=true", registry.host])
        #expect(verify.status == 5, "verify --tls-verify=true: \(verify)")
        let index = try sandbox.ocicred(["index", "--tls-verify=true", "\(registry.host)/team/app:v1"])
        #expect(index.status == 5, "index --tls-verify=true: \(index)")
    }

    // MARK: - A hung registry (item 5)

    /// A registry that accepts and never answers: one deadline for https and the http fallback together, the
    /// message naming the time waited, and `--timeout` to choose it.
    @Test func aHungRegistryCostsOneDeadlineThatTheMessageStates() throws {
        let listener = try SilentListener()
        let host = "127.0.0.1:\(listener.port)"
        let home = try Home()
        defer { home.remove() }
        try #require(try home.store(host, "first-user", "secret").status == 0)

        let start = Date()
        let short = try home.run(["verify", host, "--timeout", "2s"], timeout: 30)
        let shortTook = Date().timeIntervalSince(start)
        #expect(short.status == 4, "verify --timeout 2s: \(short)")
        #expect(short.stderrText.contains("\(host) did not answer within 2s"), "\(short)")
        #expect(shortTook < 5, "waited \(shortTook) s for a 2 s deadline")

        let login = try home.run(
            ["login", host, "-u", "u", "--password-stdin", "--timeout", "1500ms"], stdin: "pw\n", timeout: 30)
        #expect(login.status == 4 && login.stderrText.contains("did not answer within 1.5s"), "login: \(login)")

        let index = try home.run(["index", "\(host)/team/app:v1", "--timeout", "2s"], timeout: 30)
        #expect(index.status == 4 && index.stderrText.contains("did not answer within 2s"), "index: \(index)")

        // The default: one 10 s wait (https and http were each given theirs, 40 s in all, before).
        let defaultStart = Date()
        let byDefault = try home.run(["verify", host], timeout: 60)
        let defaultTook = Date().timeIntervalSince(defaultStart)
        #expect(byDefault.status == 4, "\(byDefault)")
        #expect(byDefault.stderrText.contains("did not answer within 10s"), "\(byDefault)")
        #expect(defaultTook < 14, "waited \(defaultTook) s where the message says 10 s")

        let bad = try home.run(["verify", host, "--timeout", "soon"])
        #expect(bad.status == 64 && bad.stderrText.contains("--timeout"), "\(bad)")
    }

    // MARK: - umask 002 with user-private groups (item 4)

    /// `mkdir -p ~/.local/share` under umask 002 makes it 0775. With a user-private group (the owner's primary
    /// group, nobody else in it) that is harmless, and Debian's OpenSSH accepts it; a group with other members,
    /// or none, is still refused.
    @Test func aGroupWritableDataHomeIsAcceptedOnlyForAUserPrivateGroup() throws {
        let home = try Home()
        defer { home.remove() }
        let share = home.path + "/.local/share"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        let me = getpwuid(geteuid())
        let primary = try #require(me?.pointee.pw_gid)
        try #require(chown(share, geteuid(), primary) == 0)
        try #require(chmod(share, 0o775) == 0)
        // The precondition of the rule: this user's primary group is private to it on this machine.
        var sharers = 0
        setpwent()
        while let entry = getpwent() { if entry.pointee.pw_gid == primary { sharers += 1 } }
        endpwent()
        let group = try #require(getgrgid(primary))
        try #require(group.pointee.gr_mem.pointee == nil, "the primary group lists members")
        try #require(sharers == 1, "another user shares the primary group \(primary)")

        let stored = try home.store("registry.example", "umask-user", "secret")
        #expect(stored.status == 0, "store under a 0775 ~/.local/share of a user-private group: \(stored)")
        let got = try home.run(["get", "registry.example"])
        #expect(got.status == 0 && got.stdoutText.contains("umask-user"), "get: \(got)")

        // A group that is not private (no member names it primary nor lists it: a setgid-style group) is refused.
        let shared = try #require(getgrnam("users"), "the users group exists on Debian")
        try #require(chown(share, geteuid(), shared.pointee.gr_gid) == 0)
        let refused = try home.run(["get", "registry.example"])
        #expect(refused.status == 1, "get with a 0775 ~/.local/share of group users: \(refused)")
        #expect(refused.stderrText.contains("other users can write to \(share)"), "\(refused)")
        // Other-writable is refused whatever the group.
        try #require(chown(share, geteuid(), primary) == 0)
        try #require(chmod(share, 0o777) == 0)
        let open = try home.run(["get", "registry.example"])
        #expect(open.status == 1 && open.stderrText.contains("other users can write"), "\(open)")
    }

    // MARK: - Noise (item 10)

    /// With no cloud identity, a public image on a registry the shipped matchImages cover gets an empty answer,
    /// so the kubelet pulls anonymously; a private-only registry (ECR) still fails with the reason.
    @Test(arguments: [
        "gcr.io/distroless/static:nonroot", "us-docker.pkg.dev/project/repo/app:1", "mcr.azurecr.io/app:1",
        "public.ecr.aws/docker/library/busybox:latest",
    ])
    func kubeletAnswersEmptyForPublicImagesWithoutAnIdentity(image: String) throws {
        let home = try Home()
        defer { home.remove() }
        let request =
            #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","#
            + #""image":"\#(image)"}"#
        let result = try home.run(["kubelet"], stdin: request, extra: ["AWS_ENDPOINT_URL": "http://127.0.0.1:9"])
        #expect(result.status == 0, "\(result)")
        let response = try #require(
            try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result)")
        #expect(response["kind"] as? String == "CredentialProviderResponse")
        #expect((response["auth"] as? [String: Any])?.isEmpty == true, "\(result.stdoutText)")
    }

    @Test func kubeletStillFailsForAPrivateRegistryWithoutAnIdentity() throws {
        let home = try Home()
        defer { home.remove() }
        let request =
            #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","#
            + #""image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"}"#
        let result = try home.run(["kubelet"], stdin: request, extra: ["AWS_ENDPOINT_URL": "http://127.0.0.1:9"])
        #expect(result.status != 0, "\(result)")
        #expect(result.stdout.isEmpty)
    }

    /// `get`'s hint must not send the user to a bare `podman login`, which stores the password base64 in the
    /// auth file unless credHelpers routes the host to ocicred.
    @Test func getsHintRoutesPodmanLoginThroughOcicred() throws {
        let home = try Home()
        defer { home.remove() }
        let result = try home.run(["get", "registry.example"])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderrText.contains("`ocicred login registry.example`"), "\(result)")
        #expect(
            result.stderrText.contains("`ocicred configure --registry registry.example` and then `podman login"),
            "\(result)")
    }

    /// A named --authfile that is not there is an error, as podman makes it; the help says the store and the
    /// rules still come first.
    @Test func getWithAMissingAuthfileIsAnError() throws {
        let home = try Home()
        defer { home.remove() }
        let missing = home.path + "/absent.json"
        let result = try home.run(["get", "registry.example", "--authfile", missing])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrText.contains("\(missing) does not exist"), "\(result)")
        let help = try home.run(["get", "--help"])
        #expect(!help.stdoutText.contains("read first"), "\(help.stdoutText)")
        #expect(help.stdoutText.contains("still come before any auth file"), "\(help.stdoutText)")
    }

    @Test func helpTextsNameWhatExistsAndPrintNoStrayBackslashes() throws {
        let home = try Home()
        defer { home.remove() }
        let kubelet = try home.run(["kubelet", "--help"])
        #expect(!kubelet.stdoutText.contains("manifests/kubelet/"), "\(kubelet.stdoutText)")
        let named = try #require(
            kubelet.stdoutText.range(of: #"manifests/[a-z/-]+"#, options: .regularExpression).map {
                String(kubelet.stdoutText[$0])
            })
        #expect(
            FileManager.default.fileExists(atPath: RenderedManifests.root + "/" + named.dropFirst("manifests/".count)),
            "kubelet --help names \(named)")
        let podmanArgs = try home.run(["podman-args", "--help"])
        #expect(podmanArgs.status == 0)
        #expect(!podmanArgs.stdoutText.contains("\\"), "\(podmanArgs.stdoutText)")
    }

    @Test func errorsSayWhatWasDone() throws {
        let home = try Home()
        defer { home.remove() }
        let directory = home.path + "/not-a-file"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let validate = try home.run(["config", "validate", directory])
        #expect(validate.status == 1)
        #expect(!validate.stderrText.contains("read read"), "\(validate.stderrText)")
        #expect(validate.stderrText.contains("cannot read \(directory)"), "\(validate.stderrText)")

        let unmount = try home.run(["unmount", directory])
        #expect(unmount.status == 1)
        #expect(unmount.stderrText.hasPrefix("error: unmount \(directory): nothing is mounted there"), "\(unmount)")
    }

    /// An image with no index is built for one platform; asking for another must fail, naming both, instead of
    /// indexing or mounting the one it has.
    @Test func aPlatformTheImageDoesNotHaveIsAnError() throws {
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: "first-user", password: password)
        defer { registry.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-platform")
        defer { directory.remove() }
        let image = try LayeredImage.build(in: directory)
        try image.push(to: registry, password: password, repository: "team/app", directory: directory)
        let home = try Home()
        defer { home.remove() }
        try #require(try home.store(registry.host, "first-user", password).status == 0)
        let reference = "\(registry.host)/team/app:\(image.tag)"

        let arm = try home.run(["index", reference, "--platform", "linux/arm64"], timeout: 120)
        #expect(arm.status == 1, "index --platform linux/arm64 of an amd64 image: \(arm)")
        #expect(arm.stderrText.contains("no manifest for linux/arm64"), "\(arm)")
        #expect(arm.stderrText.contains("offers linux/amd64"), "\(arm)")

        let mountpoint = home.path + "/mnt"
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        let mount = try home.run(["mount", reference, mountpoint, "--platform", "linux/arm64"], timeout: 120)
        #expect(mount.status == 1 && mount.stderrText.contains("offers linux/amd64"), "mount: \(mount)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountpoint).isEmpty)

        let amd = try home.run(["index", reference, "--platform", "linux/amd64"], timeout: 120)
        #expect(amd.status == 0, "index --platform linux/amd64: \(amd)")
    }
}
