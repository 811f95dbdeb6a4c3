import Foundation
import TestSupport
import Testing

/// The kubelet plugin runs on the node's own glibc, so the release binary must load on the oldest node it supports:
/// Debian 11 and Ubuntu 20.04, glibc 2.31 (Amazon Linux 2023 and RHEL 9 have 2.34). The binary is run inside a
/// Debian 11 root made by debootstrap (helpers/node-root, which helpers/test runs before the suites), chrooted in a
/// mount namespace of its own, and answers what a node asks of it: the kubelet's request, the helper's `get`,
/// `ocicred get` and `refresh --once` writing an auth file, all from static credentials, and `verify` against a
/// loopback registry through the root's own libcurl.
///
/// Against the release binary only (helpers/test --release; helpers/test skips this suite on the debug build,
/// which is linked against this machine's glibc and so cannot load on an older one).
@Suite(.serialized) struct NodeCompatibilityTests {
    static let oldestGlibc = (2, 31)
    static let root = ProcessInfo.processInfo.environment["OCICRED_NODE_ROOT"] ?? "/var/cache/ocicred-test/bullseye"

    /// Every `GLIBC_x.y` version the binary's dynamic symbols ask for (`objdump -T`), newest last.
    static func glibcVersions(of binary: String) throws -> [(Int, Int)] {
        try FixtureError.requirePrograms(["objdump": "binutils"])
        let dump = try ProcessRunner.run("objdump", ["-T", binary], timeout: 60)
        try #require(dump.status == 0, "objdump -T \(binary): \(dump.stderrText)")
        let versions = dump.stdoutText.matches(of: /GLIBC_(\d+)\.(\d+)/).map { (Int($0.1)!, Int($0.2)!) }
        return versions.sorted { $0 < $1 }
    }

    @Test func theBinaryAsksForNoGlibcSymbolNewerThanDebian11s() throws {
        let versions = try Self.glibcVersions(of: OcicredBinary.path)
        let newest = try #require(versions.last, "no GLIBC_ version in \(OcicredBinary.path): not linked to glibc?")
        #expect(newest <= Self.oldestGlibc, "\(OcicredBinary.path) needs glibc \(newest.0).\(newest.1)")
        // The reader is not vacuous: the base version every x86-64 binary has is seen.
        #expect(versions.contains { $0 == (2, 2) })
    }

    /// The Debian 11 root, checked to be what it claims: glibc 2.31.
    static func requireRoot() throws -> String {
        let libc = root + "/lib/x86_64-linux-gnu/libc-2.31.so"
        try #require(
            FileManager.default.fileExists(atPath: libc),
            "no Debian 11 root at \(root) (\(libc) missing): helpers/node-root makes it, helpers/test runs it")
        return root
    }

    /// Runs `command` (a path inside the root, then its arguments) chrooted into the Debian 11 root, with `work`
    /// bind-mounted at /mnt and a /proc of its own, in a private mount namespace that ends with the command, so no
    /// mount outlives it. `environment` is the chrooted process's whole environment.
    static func runInRoot(
        _ command: [String], work: TemporaryDirectory, environment: [String: String], stdin: String = ""
    ) throws -> ProcessResult {
        let root = try requireRoot()
        let script = """
            set -e
            mount -t proc proc "$ROOT/proc"
            mount --bind "$WORK" "$ROOT/mnt"
            exec chroot "$ROOT" /usr/bin/env -i "$@"
            """
        let variables = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return try ProcessRunner.run(
            "unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh"] + variables + command,
            environment: ["ROOT": root, "WORK": work.path, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"],
            stdin: Data(stdin.utf8), timeout: 60)
    }

    /// A work directory holding a copy of the binary under test, its helper link, the kubelet goldens' config, and
    /// a home; plus the environment ocicred gets inside the root (every path under /mnt).
    static func prepareWork() throws -> (TemporaryDirectory, [String: String]) {
        let work = try TemporaryDirectory(prefix: "ocicred-node")
        let files = FileManager.default
        try files.copyItem(atPath: OcicredBinary.path, toPath: work.file("ocicred"))
        try files.createSymbolicLink(atPath: work.file("docker-credential-ocicred"), withDestinationPath: "ocicred")
        try files.copyItem(atPath: KubeletTests.goldens + "/config.yaml", toPath: work.file("config.yaml"))
        try files.createDirectory(atPath: work.file("home"), withIntermediateDirectories: true)
        var environment = OcicredBinary.environment(home: "/mnt/home")
        environment["PATH"] = "/mnt:/usr/bin:/bin"
        environment["OCICRED_CONFIG"] = "/mnt/config.yaml"
        environment["KUBE_PULL_USER"] = "kube-puller"
        environment["KUBE_PULL_PASSWORD"] = "p@ss:w0rd/+"
        environment["HUB_USER"] = "hubuser"
        environment["HUB_TOKEN"] = "dckr_pat_hub"
        return (work, environment)
    }

    @Test func theRootIsDebian11WithGlibc231() throws {
        let (work, environment) = try Self.prepareWork()
        defer { work.remove() }
        let ldd = try Self.runInRoot(["/usr/bin/ldd", "--version"], work: work, environment: environment)
        #expect(ldd.status == 0 && ldd.stdoutText.contains("GLIBC 2.31"), "\(ldd)")
        let release = try String(contentsOfFile: Self.root + "/etc/debian_version", encoding: .utf8)
        #expect(release.hasPrefix("11."), "\(release)")
    }

    @Test func theKubeletRequestIsAnsweredAsOnANewerMachine() throws {
        let (work, environment) = try Self.prepareWork()
        defer { work.remove() }
        let request = try String(contentsOfFile: KubeletTests.goldens + "/static.request.json", encoding: .utf8)
        let expected = try String(contentsOfFile: KubeletTests.goldens + "/static.response.json", encoding: .utf8)
        let result = try Self.runInRoot(
            ["/mnt/ocicred", "kubelet"], work: work, environment: environment, stdin: request)
        #expect(result.status == 0, "\(result)")
        #expect(!result.stderrText.contains("GLIBC_"), "\(result.stderrText)")
        #expect(result.stdoutText == expected, "\(result)")
    }

    @Test func theHelpersGetAndOcicredGetAnswerFromTheConfig() throws {
        let (work, environment) = try Self.prepareWork()
        defer { work.remove() }
        let helper = try Self.runInRoot(
            ["/mnt/docker-credential-ocicred", "get"], work: work, environment: environment,
            stdin: "registry.example.com:5000")
        try #require(helper.status == 0, "\(helper)")
        let answer = try #require(try JSONSerialization.jsonObject(with: helper.stdout) as? [String: String])
        #expect(answer["Username"] == "kube-puller" && answer["Secret"] == "p@ss:w0rd/+", "\(helper.stdoutText)")

        let get = try Self.runInRoot(
            ["/mnt/ocicred", "get", "registry.example.com:5000", "--show-secret"], work: work, environment: environment)
        #expect(get.status == 0, "\(get)")
        #expect(get.stdoutText == "p@ss:w0rd/+\n", "\(get)")
        #expect(get.stderrText.contains("kube-puller"), "\(get)")
    }

    /// The network path too: ocicred dlopen()s the node's own libcurl (Debian 11: 7.74, older than the 7.85 that
    /// the protocol options ocicred sets by name need) and checks credentials against a loopback registry.
    @Test func aRegistryIsReachedThroughTheNodesOwnLibcurl() throws {
        let (work, environment) = try Self.prepareWork()
        defer { work.remove() }
        try #require(FileManager.default.fileExists(atPath: Self.root + "/usr/lib/x86_64-linux-gnu/libcurl.so.4.7.0"))
        let registry = try RegistryFixture.start(username: "node-user", password: "node:pass")
        defer { registry.stop() }
        let config = """
            version: 1
            registries:
              - host: \(registry.host)
                credentials: [NODE_USER, NODE_PASSWORD]
            """
        try config.write(toFile: work.file("config.yaml"), atomically: true, encoding: .utf8)
        var withCredentials = environment
        withCredentials["NODE_USER"] = "node-user"
        withCredentials["NODE_PASSWORD"] = "node:pass"
        let verify = try Self.runInRoot(
            ["/mnt/ocicred", "verify", registry.host, "--tls-verify=false"], work: work, environment: withCredentials)
        #expect(verify.status == 0, "\(verify)")
        // A wrong password is told apart: the registry was really asked.
        withCredentials["NODE_PASSWORD"] = "wrong"
        let refused = try Self.runInRoot(
            ["/mnt/ocicred", "verify", registry.host, "--tls-verify=false"], work: work, environment: withCredentials)
        #expect(refused.status != 0 && !refused.stderrText.contains("unknown option"), "\(refused)")
    }

    @Test func refreshOnceWritesTheAuthFile() throws {
        let (work, environment) = try Self.prepareWork()
        defer { work.remove() }
        let config = """
            version: 1
            registries:
              - host: registry.example.com:5000
                credentials: [KUBE_PULL_USER, KUBE_PULL_PASSWORD]
            refresh:
              outputs:
                - authFile:
                    path: /mnt/out/auth.json
                    format: containers
                    registries: [registry.example.com:5000]
            """
        try config.write(toFile: work.file("config.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: work.file("out"), withIntermediateDirectories: true)
        let result = try Self.runInRoot(["/mnt/ocicred", "refresh", "--once"], work: work, environment: environment)
        #expect(result.status == 0, "\(result)")
        let written = try Data(contentsOf: URL(fileURLWithPath: work.file("out/auth.json")))
        let file = try #require(try JSONSerialization.jsonObject(with: written) as? [String: Any], "\(result)")
        let auth = (file["auths"] as? [String: [String: Any]])?["registry.example.com:5000"]?["auth"] as? String
        #expect(auth == Data("kube-puller:p@ss:w0rd/+".utf8).base64EncodedString(), "\(file.keys)")
        let mode = try FileManager.default.attributesOfItem(atPath: work.file("out/auth.json"))[.posixPermissions]
        #expect(mode as? Int == 0o600)
    }
}
