import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// ocicred beside podman 4.3 as a user meets them: logging out twice and out of everything, `ocicred configure`
/// editing the auth file `podman login` really writes, the flags spelled as podman spells them, and the commands
/// for people (`get`, `list`, `logout`). Each test starts a docker-registry on a free 127.0.0.1 port and a private
/// containers sandbox, and removes both in `defer`.
@Suite(.serialized)
struct PodmanHabitsTests {
    let username = "habit-user"

    static func makePassword() -> String { "habit:pw-" + UUID().uuidString.prefix(8).lowercased() }

    /// How podman reaches ocicred: a `credHelpers` entry in its auth file, or the registries.conf.d drop-in.
    enum Wiring: String, CaseIterable, Sendable {
        case credHelpers, registriesConf
    }

    // MARK: - Logging out

    /// Without ocicred, podman 4.3 answers a second `podman logout H` with "Error: not logged into H" (exit 125).
    /// Through a credential helper that answer cannot be had: containers/image treats every failing erase as an
    /// error (the client wraps the helper's output, so its not-found check never matches), and podman 4.3 then
    /// overflows its stack. The helper's erase of a missing entry succeeds, so podman says "Removed login
    /// credentials", as it does with docker-credential-secretservice.
    @Test(arguments: Wiring.allCases)
    func podmanLogoutTwiceAndLogoutAllSucceed(wiring: Wiring) throws {
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        let neverLoggedIn = "127.0.0.1:9"
        let sandbox = try makeSandbox(wiring, hosts: [registry.host, neverLoggedIn])
        defer { sandbox.remove() }
        try sandbox.podmanLogin(to: registry, password: password)

        let first = try sandbox.run("podman", ["logout", registry.host])
        #expect(first.status == 0, "first podman logout: \(first)")
        #expect(first.stdoutText == "Removed login credentials for \(registry.host)\n", "\(first)")
        #expect(try listed(sandbox)[registry.host] == nil, "still stored after podman logout")

        let store = try StoreSnapshot(of: [sandbox.storeDirectory, sandbox.keyFile])
        let second = try sandbox.run("podman", ["logout", registry.host])
        #expect(second.status == 0, "second podman logout: \(second)")
        #expect(second.stdoutText == "Removed login credentials for \(registry.host)\n", "\(second)")
        #expect(!second.stderrText.contains("stack overflow"), "podman crashed: \(second.stderrText.prefix(300))")
        let after = try StoreSnapshot(of: [sandbox.storeDirectory, sandbox.keyFile])
        #expect(after == store, "the second logout changed the store: \(after.differences(from: store))")

        // --all erases every host the auth file's credHelpers names (one never logged in to) or the helper lists.
        try sandbox.podmanLogin(to: registry, password: password)
        let all = try sandbox.run("podman", ["logout", "--all"])
        #expect(all.status == 0, "podman logout --all: \(all)")
        #expect(all.stdoutText == "Removed login credentials for all registries\n", "\(all)")
        #expect(try listed(sandbox).isEmpty, "podman logout --all left entries in the store")
        if wiring == .credHelpers {
            // containers/image empties credHelpers too: the README says to run `ocicred configure` again.
            let file = try JSONSerialization.jsonObject(with: sandbox.authFileContents()) as? [String: Any]
            let helpers = (file?["credHelpers"] as? [String: String]) ?? [:]
            #expect(helpers.isEmpty, "credHelpers after podman logout --all: \(helpers)")
        }
    }

    // MARK: - configure writes the file podman login writes

    /// Where podman 4.3 keeps its auth file, in the order it looks: each case first shows podman alone writing
    /// the password into that file, then `ocicred configure --registry H` naming that same file, after which
    /// `podman login` stores through the helper and the password is in no file of the sandbox.
    enum DefaultAuthFile: String, CaseIterable, Sendable {
        case registryAuthFile, dockerConfig, runtimeDirectory
    }

    @Test(arguments: DefaultAuthFile.allCases)
    func configureEditsTheAuthFilePodmanLoginWrites(setting: DefaultAuthFile) throws {
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:], registryAuthFile: false)
        defer { sandbox.remove() }
        let expected: String
        switch setting {
        case .registryAuthFile:
            expected = sandbox.directory.file("explicit/auth.json")
            sandbox.environment["REGISTRY_AUTH_FILE"] = expected
            try FileManager.default.createDirectory(
                atPath: sandbox.directory.file("explicit"), withIntermediateDirectories: true)
        case .dockerConfig:
            sandbox.environment["DOCKER_CONFIG"] = sandbox.home + "/docker-config"
            expected = sandbox.home + "/docker-config/config.json"
        case .runtimeDirectory:
            expected = sandbox.authFile
        }

        try sandbox.podmanLogin(to: registry, password: password)
        let alone = try authFile(at: expected)
        #expect((alone["auths"] as? [String: Any])?[registry.host] != nil, "podman alone did not write \(expected)")
        let logout = try sandbox.run("podman", ["logout", registry.host])
        try #require(logout.status == 0, "podman logout: \(logout)")

        let configure = try sandbox.ocicred(["configure", "--registry", registry.host])
        #expect(configure.status == 0, "ocicred configure: \(configure)")
        #expect(
            configure.stdoutText == "\(expected): ocicred is the credential helper for \(registry.host)\n",
            "\(configure)")

        try sandbox.podmanLogin(to: registry, password: password)
        let configured = try authFile(at: expected)
        #expect(configured["credHelpers"] as? [String: String] == [registry.host: "ocicred"])
        #expect((configured["auths"] as? [String: Any])?[registry.host] == nil, "podman wrote auths after configure")
        let got = try sandbox.helper("get", stdin: registry.host)
        #expect(got.status == 0 && got.stdoutText.contains(#""Username":"\#(username)""#), "helper get: \(got)")
        try expectNoClearPassword(password, under: sandbox.directory.path, skipping: ["storage"])
    }

    /// As root without XDG_RUNTIME_DIR podman keeps its auth file in /run/containers/0: proved in a private mount
    /// namespace whose /run is a fresh tmpfs, so the machine's own /run is never touched.
    @Test func configureAsRootWithoutRuntimeDirectoryEditsRunContainers() throws {
        try #require(getuid() == 0, "needs root: podman's per-uid default and the mount namespace are root's")
        try FixtureError.requirePrograms(["unshare": "util-linux"])
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:], registryAuthFile: false)
        defer { sandbox.remove() }
        sandbox.environment["XDG_RUNTIME_DIR"] = nil
        let realRunDirectory = FileManager.default.fileExists(atPath: "/run/containers/0")
        let copy = sandbox.directory.file("run-copy")
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)

        // The password reaches podman on stdin only: read once by the shell, piped by its printf builtin.
        let script = """
            set -eu
            IFS= read -r password
            mount -t tmpfs -o mode=0755 ocicred-test /run
            printf '%s\\n' "$password" | podman login --tls-verify=false -u "$2" --password-stdin "$1" >/dev/null
            echo '=== podman alone'
            cat /run/containers/0/auth.json; echo
            podman logout "$1" >/dev/null
            echo '=== configure'
            "$OCICRED" configure --registry "$1"
            printf '%s\\n' "$password" | podman login --tls-verify=false -u "$2" --password-stdin "$1" >/dev/null
            echo '=== after configure'
            cat /run/containers/0/auth.json; echo
            cp -a /run/. "$3"
            """
        sandbox.environment["OCICRED"] = OcicredBinary.path
        let result = try sandbox.run(
            "unshare",
            ["--mount", "--propagation", "private", "sh", "-c", script, "sh", registry.host, username, copy],
            stdin: Data((password + "\n").utf8))
        try #require(result.status == 0, "the script in the mount namespace failed: \(result.stderrText)")
        let sections = Self.sections(result.stdoutText)

        let alone = try #require(
            try JSONSerialization.jsonObject(with: Data((sections["podman alone"] ?? "").utf8)) as? [String: Any])
        #expect((alone["auths"] as? [String: Any])?[registry.host] != nil, "podman did not use /run/containers/0")
        #expect(
            sections["configure"]
                == "/run/containers/0/auth.json: ocicred is the credential helper for \(registry.host)\n")
        let configured = try #require(
            try JSONSerialization.jsonObject(with: Data((sections["after configure"] ?? "").utf8)) as? [String: Any])
        #expect(configured["credHelpers"] as? [String: String] == [registry.host: "ocicred"])
        #expect((configured["auths"] as? [String: Any])?[registry.host] == nil, "podman wrote auths after configure")
        let got = try sandbox.helper("get", stdin: registry.host)
        #expect(got.status == 0 && got.stdoutText.contains(#""Username":"\#(username)""#), "helper get: \(got)")
        try expectNoClearPassword(password, under: copy, skipping: [])
        #expect(
            FileManager.default.fileExists(atPath: "/run/containers/0") == realRunDirectory, "touched the real /run")
    }

    @Test func configureRefusesToGuessForAnotherUserWithoutRuntimeDirectory() throws {
        try #require(getuid() == 0, "needs root to run the binary as another user")
        try FixtureError.requirePrograms(["setpriv": "util-linux"])
        let result = try ProcessRunner.run(
            "setpriv",
            [
                "--reuid=65534", "--regid=65534", "--clear-groups", OcicredBinary.path, "configure",
                "--registry", "registry.example.com",
            ],
            environment: ["PATH": "/usr/bin:/bin", "HOME": "/nonexistent"], timeout: 60)
        #expect(result.status == 1, "\(result)")
        #expect(result.stderrText.contains("XDG_RUNTIME_DIR is not set"), "\(result)")
        #expect(result.stderrText.contains("--authfile"), "\(result)")
    }

    // MARK: - Flags spelled as podman spells them

    /// `--tls-verify`, `--tls-verify=true`, `--tls-verify=false`: the same argv to `podman login` and to
    /// `ocicred login` against a registry with a certificate nobody trusts; both refuse or both accept.
    @Test func tlsVerifyTakesThePodmanSpellings() throws {
        let password = Self.makePassword()
        let certificates = try TemporaryDirectory(prefix: "ocicred-tls")
        defer { certificates.remove() }
        let certificate = try SelfSignedCertificate.loopback(in: certificates.path, name: "registry")
        let registry = try RegistryFixture.start(username: username, password: password, tls: certificate)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }
        try sandbox.useOwnRegistriesAndCertificates()
        let stdin = Data((password + "\n").utf8)
        let login = ["login", "-u", username, "--password-stdin"]

        for (flag, verifies) in [("--tls-verify", true), ("--tls-verify=true", true), ("--tls-verify=false", false)] {
            let podman = try sandbox.run("podman", login + [flag, registry.host], stdin: stdin)
            #expect((podman.status == 0) == !verifies, "podman \(flag): \(podman)")
            let ocicred = try sandbox.ocicred(login + [flag, registry.host], stdin: stdin)
            #expect(ocicred.status == (verifies ? 5 : 0), "ocicred \(flag): \(ocicred)")
        }
        // pflag's boolean spellings, and the flag bare before the registry.
        for (arguments, status) in [
            (["verify", "--tls-verify=0", registry.host], Int32(0)),
            (["verify", registry.host, "--tls-verify=False"], 0),
            (["verify", "--tls-verify=1", registry.host], 5), (["verify", "--tls-verify", registry.host], 5),
        ] {
            let result = try sandbox.ocicred(arguments)
            #expect(result.status == status, "\(arguments): \(result)")
        }
        // A value podman rejects is rejected, naming the flag; so is one given as a separate word.
        let bad = try sandbox.ocicred(["verify", registry.host, "--tls-verify=maybe"])
        #expect(bad.status == 64 && bad.stderrText.contains("--tls-verify"), "\(bad)")
        let separate = try sandbox.ocicred(["verify", "--tls-verify", "false", registry.host])
        #expect(separate.status == 64, "\(separate)")
        let podmanSeparate = try sandbox.run("podman", login + ["--tls-verify", "false", registry.host], stdin: stdin)
        #expect(podmanSeparate.status != 0, "\(podmanSeparate)")
    }

    /// One `--authfile F` for both tools: ocicred configures F, podman logs in through it, and podman reads the
    /// file `ocicred authfile --authfile` writes.
    @Test func authfileNamesTheSameFileForPodmanAndOcicred() throws {
        let password = Self.makePassword()
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }
        let configured = sandbox.directory.file("configured.json")

        let configure = try sandbox.ocicred(["configure", "--registry", registry.host, "--authfile", configured])
        #expect(configure.status == 0, "\(configure)")
        let login = try sandbox.run(
            "podman",
            [
                "login", "--authfile", configured, "--tls-verify=false", "-u", username, "--password-stdin",
                registry.host,
            ], stdin: Data((password + "\n").utf8))
        try #require(login.status == 0, "podman login --authfile: \(login)")
        #expect((try authFile(at: configured)["auths"] as? [String: Any])?[registry.host] == nil)
        #expect(try listed(sandbox)[registry.host] == username, "podman login --authfile did not store through ocicred")

        let written = sandbox.directory.file("written.json")
        let authfile = try sandbox.ocicred(["authfile", "--registry", registry.host, "--authfile", written])
        #expect(authfile.status == 0, "\(authfile)")
        let getLogin = try sandbox.run("podman", ["login", "--get-login", "--authfile", written, registry.host])
        #expect(getLogin.status == 0 && getLogin.stdoutText == username + "\n", "\(getLogin)")
    }

    // MARK: - Commands for people

    @Test func getListAndLogoutForPeople() throws {
        let password = Self.makePassword()
        try ContainersSandbox.withPodmanLogin(username: username, password: password) { sandbox, registry in
            let list = try sandbox.ocicred(["list"])
            #expect(list.status == 0, "\(list)")
            let rows = list.stdoutText.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(
                rows == [["REGISTRY", "USERNAME", "TYPE"], [registry.host, username, "basic"]], "\(list.stdoutText)")

            let get = try sandbox.ocicred(["get", registry.host])
            #expect(get.status == 0, "\(get)")
            #expect(
                get.stdoutText.hasPrefix(
                    "\(registry.host): \(username) (from encrypted store \(sandbox.storeDirectory)/oci-creds-"))
            let shown = try sandbox.ocicred(["get", registry.host, "--show-secret"])
            #expect(
                shown.status == 0 && shown.stdoutText == password + "\n", "--show-secret did not print the secret alone"
            )
            #expect(shown.stderrText == get.stdoutText)
            for result in [list, get] {
                #expect(!result.stdoutText.contains(password) && !result.stderrText.contains(password))
            }
            let unknown = try sandbox.ocicred(["get", "unknown.example.com"])
            #expect(
                unknown.status == 2 && unknown.stderrText.contains("no credentials for unknown.example.com"),
                "\(unknown)")

            // podman sees what ocicred logout did, and ocicred logout says what podman says without a helper.
            let logout = try sandbox.ocicred(["logout", registry.host])
            #expect(
                logout.status == 0 && logout.stdoutText == "Removed login credentials for \(registry.host)\n",
                "\(logout)")
            let getLogin = try sandbox.run("podman", ["login", "--get-login", registry.host])
            #expect(
                getLogin.status != 0 && getLogin.stderrText.contains("not logged into \(registry.host)"), "\(getLogin)")
            let again = try sandbox.ocicred(["logout", registry.host])
            #expect(again.status == 2 && again.stderrText.contains("not logged into \(registry.host)"), "\(again)")

            try sandbox.podmanLogin(to: registry, password: password)
            let all = try sandbox.ocicred(["logout", "--all"])
            #expect(all.status == 0 && all.stdoutText == "Removed login credentials for all registries\n", "\(all)")
            let empty = try sandbox.ocicred(["list"])
            #expect(empty.status == 0 && empty.stdoutText.isEmpty && empty.stderrText.contains("nothing is stored"))
        }
    }

    @Test func completionIsOfferedByHelpAndLoadsInBash() throws {
        try FixtureError.requirePrograms(["bash": "bash"])
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let help = try OcicredBinary.run(["--help"], home: home.path)
        #expect(help.status == 0 && help.stdoutText.contains("--generate-completion-script"), "\(help)")

        let script = try OcicredBinary.run(["--generate-completion-script", "bash"], home: home.path)
        #expect(script.status == 0, "\(script)")
        let file = home.file("ocicred.bash")
        try script.stdout.write(to: URL(fileURLWithPath: file))
        let loaded = try ProcessRunner.run(
            "bash", ["-c", "source \"$1\" && complete -p ocicred", "bash", file], timeout: 30)
        #expect(loaded.status == 0 && loaded.stdoutText.contains("ocicred"), "\(loaded)")
        for command in ["get", "list", "logout", "configure"] {
            #expect(script.stdoutText.contains(command), "the script does not complete \(command)")
        }
    }

    // MARK: - Steps

    private func makeSandbox(_ wiring: Wiring, hosts: [String]) throws -> ContainersSandbox {
        switch wiring {
        case .credHelpers:
            return try ContainersSandbox(credHelpers: Dictionary(uniqueKeysWithValues: hosts.map { ($0, "ocicred") }))
        case .registriesConf:
            let snippet = ContainersSandbox.helperSnippet
            return try ContainersSandbox(
                credHelpers: [:], registriesConf: try String(contentsOf: snippet, encoding: .utf8))
        }
    }

    private func listed(_ sandbox: ContainersSandbox) throws -> [String: String] {
        let list = try sandbox.helper("list", stdin: "")
        try #require(list.status == 0, "docker-credential-ocicred list: \(list)")
        return try JSONDecoder().decode([String: String].self, from: list.stdout)
    }

    private func authFile(at path: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(path) is no object")
    }

    /// No regular file below `root` holds the password raw or base64-encoded as an auth file's `auth` would.
    private func expectNoClearPassword(_ password: String, under root: String, skipping: [String]) throws {
        let forms = [
            Data(password.utf8), Data(Data("\(username):\(password)".utf8).base64EncodedString().utf8),
            Data(Data(password.utf8).base64EncodedString().utf8),
        ]
        let skipped = skipping.map { root + "/" + $0 }
        let snapshot = try StoreSnapshot(of: [root])
        for file in snapshot.files where !skipped.contains(where: { file.path.hasPrefix($0 + "/") }) {
            #expect(forms.allSatisfy { file.contents.range(of: $0) == nil }, "\(file.path) holds the password")
        }
        #expect(!snapshot.files.isEmpty)
    }

    /// The script's output split at its `=== NAME` lines.
    static func sections(_ text: String) -> [String: String] {
        var result = [String: String]()
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("=== ") {
                current = String(line.dropFirst(4))
                result[current!] = ""
            } else if let name = current {
                result[name, default: ""] += line + "\n"
            }
        }
        return result.mapValues { $0.hasSuffix("\n\n") ? String($0.dropLast()) : $0 }
    }
}
