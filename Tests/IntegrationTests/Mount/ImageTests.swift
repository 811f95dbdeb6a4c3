import Foundation
import TestSupport
import Testing

/// The container image as the manifests run it: built FROM scratch by helpers/build-image (Containerfile) into
/// private containers storage, then started by podman with a read-only root, as uid 65532, with every
/// capability dropped and no new privileges — a pod under Pod Security "restricted". Host networking only so the
/// container reaches this test's peers on 127.0.0.1: docker-registry with htpasswd and moto_server for ECR.
///
/// The binary in the image is the one under test (`OCICRED_BIN`, else the build's), so the suite runs on the
/// debug build too; helpers/build-image without `--binary` puts in the release build.
@Suite(.serialized)
struct ImageTests {
    static let uid = "65532"

    /// A private containers world with the image built in it.
    final class Image: @unchecked Sendable {
        let sandbox: ContainersSandbox
        let name: String
        let work: TemporaryDirectory

        init(target: String = "ocicred") throws {
            try FixtureError.requirePrograms([
                "buildah": "buildah", "podman": "podman", "runc": "runc", "ldd": "libc-bin",
            ])
            sandbox = try ContainersSandbox(credHelpers: [:])
            work = try TemporaryDirectory(prefix: "ocicred-image")
            name = "localhost/ocicred-under-test:\(target)"
            let script =
                URL(fileURLWithPath: ManifestFiles.root).deletingLastPathComponent().path + "/helpers/build-image"
            let build = try sandbox.run(
                script, ["--binary", OcicredBinary.path, "--target", target, "--tag", name], timeout: 300)
            guard build.status == 0 else {
                remove()
                throw FixtureError.commandFailed(command: "helpers/build-image", result: build)
            }
        }

        func remove() {
            _ = try? sandbox.run("podman", ["rm", "--all", "--force"], timeout: 60)
            _ = try? sandbox.run("podman", ["rmi", "--all", "--force"], timeout: 60)
            sandbox.remove()
            work.remove()
        }

        /// `podman run` as a restricted pod runs it. crun refuses this machine's hybrid cgroup layout, so runc;
        /// explicit ulimits because podman's defaults come from a file the sandbox does not have.
        /// `environment` values reach the container through podman's environment (`--env NAME`), never argv.
        func run(
            _ arguments: [String], entrypoint: String? = nil, volumes: [String] = [],
            environment: [String: String] = [:],
            stdin: String = ""
        ) throws -> ProcessResult {
            var podman = [
                "run", "--rm", "-i", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                "--read-only", "--read-only-tmpfs=false", "--user", "\(ImageTests.uid):\(ImageTests.uid)",
                "--cap-drop=ALL", "--security-opt", "no-new-privileges", "--network", "host",
            ]
            for volume in volumes { podman += ["-v", volume] }
            for name in environment.keys.sorted() { podman += ["--env", name] }
            if let entrypoint { podman += ["--entrypoint", entrypoint] }
            podman += [name] + arguments
            var env = sandbox.environment
            for (key, value) in environment { env[key] = value }
            return try ProcessRunner.run(
                ProcessRunner.resolve("podman"), podman, environment: env, stdin: Data(stdin.utf8), timeout: 180)
        }

        /// The image's files, as `podman image mount` shows them, for assertions on what is in it.
        func files() throws -> [String] {
            let mount = try sandbox.run("podman", ["image", "mount", name])
            guard mount.status == 0 else {
                throw FixtureError.commandFailed(command: "podman image mount", result: mount)
            }
            defer { _ = try? sandbox.run("podman", ["image", "unmount", name]) }
            let root = mount.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            let listing = try ProcessRunner.run("find", [root, "-mindepth", "1", "-printf", "/%P %y %m %U\n"])
            return listing.stdoutText.split(separator: "\n").map(String.init)
        }

        /// A directory the container (uid 65532) may write, like an emptyDir.
        func writableDirectory(_ name: String) throws -> String {
            let path = work.file(name)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            guard chown(path, 65532, 65532) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM) }
            return path
        }

        /// A read-only config directory holding config.yaml, like a ConfigMap volume.
        func configDirectory(_ config: String) throws -> String {
            let path = work.file("config")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try config.write(toFile: path + "/config.yaml", atomically: true, encoding: .utf8)
            return path
        }
    }

    static let ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

    static func awsEnvironment(_ moto: MotoServer) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey,
            "AWS_ENDPOINT_URL": moto.endpoint, "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1",
            "OCICRED_CONFIG": "/etc/ocicred/config.yaml", "OCICRED_CACHE": "off",
        ]
    }

    @Test func theImageHoldsOnlyTheBinaryItsLibrariesCertificatesAndTheUserAndRunsAs65532() throws {
        let image = try Image()
        defer { image.remove() }
        let files = try image.files()
        let paths = Set(files.map { String($0.split(separator: " ")[0]) })
        #expect(paths.contains("/usr/local/bin/ocicred"))
        #expect(paths.contains("/usr/local/bin/docker-credential-ocicred"))
        #expect(paths.contains("/etc/ssl/certs/ca-certificates.crt"))
        #expect(paths.contains { $0.hasPrefix("/lib") && $0.contains("/libcurl.so.4") }, "\(paths.sorted())")
        #expect(!paths.contains { $0.hasSuffix("/sh") || $0.hasSuffix("/bash") || $0.hasSuffix("/busybox") })
        // Nothing in the image belongs to, or may be written by, the uid it runs as.
        for line in files {
            let fields = line.split(separator: " ")
            #expect(fields[3] == "0", "\(line) is not root's")
            if fields[1] != "l", let mode = Int(fields[2], radix: 8) {
                #expect(mode & 0o022 == 0, "\(line) is writable")
            }
        }
        let version = try image.run(["--version"])
        #expect(version.status == 0, "\(version)")

        let config = try image.sandbox.run(
            "podman", ["image", "inspect", "--format", "{{.Config.User}} {{.Config.Entrypoint}}", image.name])
        #expect(
            config.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "65532:65532 [/usr/local/bin/ocicred]")
    }

    @Test func refreshOnceWritesDockerRegistryAndECRCredentialsIntoAMountedDirectory() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let password = "image-test-\(UUID().uuidString)"
        let registry = try RegistryFixture.start(username: "builder", password: password)
        defer { registry.stop() }
        let image = try Image()
        defer { image.remove() }

        let out = try image.writableDirectory("out")
        let config = try image.configDirectory(
            """
            version: 1
            registries:
              - host: "\(registry.host)"
                credentials: [REG_USER, REG_PASS]
              - host: "*.dkr.ecr.*.amazonaws.com"
                provider: aws
            refresh:
              outputs:
                - authFile:
                    path: /out/auth.json
                    registries: ["\(registry.host)", "\(Self.ecrHost)"]
            """)
        var environment = Self.awsEnvironment(moto)
        environment["REG_USER"] = "builder"
        environment["REG_PASS"] = password
        let result = try image.run(
            ["refresh", "--once"], volumes: ["\(config):/etc/ocicred:ro", "\(out):/out"], environment: environment)
        #expect(result.status == 0, "\(result)\nmoto: \(moto.log.suffix(2000))")
        #expect(!result.stdoutText.contains(password) && !result.stderrText.contains(password))

        let written = try Data(contentsOf: URL(fileURLWithPath: out + "/auth.json"))
        let auths = try #require(
            (try JSONSerialization.jsonObject(with: written) as? [String: Any])?["auths"] as? [String: [String: String]]
        )
        let basic = try #require(auths[registry.host]?["auth"])
        #expect(Data(base64Encoded: basic) == Data("builder:\(password)".utf8))
        let ecr = String(
            decoding: Data(base64Encoded: try #require(auths[Self.ecrHost]?["auth"])) ?? Data(), as: UTF8.self)
        #expect(ecr.hasPrefix("AWS:") && ecr.count > 10)
        let attributes = try FileManager.default.attributesOfItem(atPath: out + "/auth.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.ownerAccountID] as? Int) == 65532)

        // The credential the container wrote is the one docker-registry takes: podman pushes with that file.
        let local = try image.sandbox.commitScratchImage(name: "pushed-with-image-auth")
        let push = try image.sandbox.run(
            "podman",
            ["push", "--authfile", out + "/auth.json", "--tls-verify=false", local, "\(registry.host)/ci/app:1"])
        #expect(push.status == 0, "\(push)")
    }

    @Test func kubeletAnswersACredentialProviderRequestFromStdin() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let image = try Image()
        defer { image.remove() }
        let config = try image.configDirectory(
            """
            version: 1
            registries:
              - host: "*.dkr.ecr.*.amazonaws.com"
                provider: aws
            """)
        let request =
            #"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"\#(Self.ecrHost)/team/app:1"}"#
        let result = try image.run(
            ["kubelet"], volumes: ["\(config):/etc/ocicred:ro"], environment: Self.awsEnvironment(moto), stdin: request)
        #expect(result.status == 0, "\(result)")
        let response = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        #expect(response["kind"] as? String == "CredentialProviderResponse")
        let auth = try #require(response["auth"] as? [String: [String: String]])
        #expect(auth[Self.ecrHost]?["username"] == "AWS")
        #expect(auth[Self.ecrHost]?["password"]?.isEmpty == false)
    }

    @Test func theCredentialHelperAnswersGetThroughItsLink() throws {
        let image = try Image()
        defer { image.remove() }
        let password = "helper-\(UUID().uuidString)"
        let config = try image.configDirectory(
            """
            version: 1
            registries:
              - host: registry.example.com:5000
                credentials: [REG_USER, REG_PASS]
            """)
        let result = try image.run(
            ["get"], entrypoint: "/usr/local/bin/docker-credential-ocicred", volumes: ["\(config):/etc/ocicred:ro"],
            environment: ["OCICRED_CONFIG": "/etc/ocicred/config.yaml", "REG_USER": "ci", "REG_PASS": password],
            stdin: "registry.example.com:5000")
        #expect(result.status == 0, "\(result)")
        let answer = try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: String])
        #expect(answer["Username"] == "ci")
        #expect(answer["Secret"] == password)
        #expect(answer["ServerURL"] == "registry.example.com:5000")
        #expect(!result.stderrText.contains(password))
    }

    @Test func theKubeletInstallerAddsCpAndMvButNoShell() throws {
        let image = try Image(target: "kubelet-installer")
        defer { image.remove() }
        let paths = Set(try image.files().map { String($0.split(separator: " ")[0]) })
        #expect(paths.isSuperset(of: ["/bin/cp", "/bin/mv", "/usr/local/bin/ocicred"]), "\(paths.sorted())")
        #expect(!paths.contains { $0.hasSuffix("/sh") || $0.hasSuffix("/bash") })
        // The DaemonSet's copy step, as it runs there: root without capabilities, into a host directory.
        let host = image.work.file("host-bin")
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        var podman = [
            "run", "--rm", "--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
            "--read-only", "--read-only-tmpfs=false", "--user", "0:0", "--cap-drop=ALL", "--security-opt",
            "no-new-privileges", "--network", "none", "-v", "\(host):/host/bin", "--entrypoint", "/bin/cp", image.name,
        ]
        podman += ["/usr/local/bin/ocicred", "/host/bin/.ocicred.new"]
        let copy = try image.sandbox.run("podman", podman)
        #expect(copy.status == 0, "\(copy)")
        #expect(FileManager.default.isExecutableFile(atPath: host + "/.ocicred.new"))
    }
}
