import Foundation
import TestSupport
import Testing

/// manifests/overlays/sidecar-example's build container, run the way its pod runs it: the rendered container's own
/// command, arguments, environment, uid and volume mounts, in a sandbox with what Pod Security "restricted" and
/// containerd's RuntimeDefault seccomp profile leave it (RestrictedPodSandbox: no capabilities, no_new_privs, no
/// user namespace), pushing to a loopback docker-registry with the auth file `ocicred refresh` wrote, as the
/// sidecar writes it. buildah, which the example used before, cannot run there at all; the second test shows why.
@Suite(.serialized) struct RefreshSidecarExampleTests {
    static let password = "sidecar-pass:w0rd"

    struct RenderedPod {
        let build: [String: Any]
        let volumes: [[String: Any]]
        let authFilePath: String
    }

    static func renderedPod() throws -> RenderedPod {
        let objects = try RenderedManifests.objects("sidecar-example")
        let spec = try #require(
            objects.first { RenderedManifests.kind($0) == "Pod" }.flatMap(RenderedManifests.podSpec))
        let build = try #require((spec["containers"] as? [[String: Any]])?.first)
        let config = try #require(RenderedManifests.configMapFile(objects, prefix: "ocicred-sidecar-config"))
        let path = try #require(config.firstRange(of: /path: (\S+)/).map { String(config[$0].dropFirst(6)) })
        return RenderedPod(build: build, volumes: spec["volumes"] as? [[String: Any]] ?? [], authFilePath: path)
    }

    /// A directory the pod's uid owns, as an emptyDir is writable by it.
    static func ownedDirectory(_ path: String, uid: Int) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try FileManager.default.setAttributes(
            [.ownerAccountID: uid, .groupOwnerAccountID: uid, .posixPermissions: 0o700], ofItemAtPath: path)
    }

    @Test func theExamplesBuildPushesWithTheSidecarsAuthFileUnderRestrictedAndRuntimeDefault() throws {
        try FixtureError.requirePrograms(["runc": "runc", "umoci": "umoci", "skopeo": "skopeo"])
        let pod = try Self.renderedPod()
        let context = pod.build["securityContext"] as? [String: Any] ?? [:]
        let uid = try #require(context["runAsUser"] as? Int)
        #expect(uid != 0 && context["runAsNonRoot"] as? Bool == true)
        #expect((context["capabilities"] as? [String: [String]])?["drop"] == ["ALL"])
        #expect((context["seccompProfile"] as? [String: String])?["type"] == "RuntimeDefault")
        #expect(
            context["allowPrivilegeEscalation"] as? Bool == false && context["readOnlyRootFilesystem"] as? Bool == true)

        let directory = try TemporaryDirectory(prefix: "ocicred-sidecar-build")
        defer { directory.remove() }
        // HTTPS, as a real registry speaks it; the build trusts the test's CA through SSL_CERT_FILE (Go's own
        // variable), the one setting the test adds to the pod's environment.
        let caDirectory = directory.file("ca")
        try Self.ownedDirectory(caDirectory, uid: 0)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: caDirectory)
        let certificate = try SelfSignedCertificate.loopback(in: caDirectory, name: "registry")
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: certificate.certificateFile)
        let registry = try RegistryFixture.start(username: "sidecar", password: Self.password, tls: certificate)
        defer { registry.stop() }

        // The sidecar's part: `ocicred refresh` writes the auth file for the registry into the shared volume.
        let authDirectory = directory.file("auth")
        try Self.ownedDirectory(authDirectory, uid: uid)
        let authFile = authDirectory + "/" + URL(fileURLWithPath: pod.authFilePath).lastPathComponent
        let config = """
            version: 1
            registries:
              - host: \(registry.host)
                credentials: [REGISTRY_USER, REGISTRY_PASSWORD]
            refresh:
              outputs:
                - authFile: {path: \(authFile), format: containers, registries: [\(registry.host)]}
            """
        try config.write(toFile: directory.file("config.yaml"), atomically: true, encoding: .utf8)
        let home = directory.file("home")
        let refresh = try OcicredBinary.run(
            ["refresh", "--once"], home: home,
            extraEnvironment: [
                "OCICRED_CONFIG": directory.file("config.yaml"), "OCICRED_CACHE": "off",
                "REGISTRY_USER": "sidecar", "REGISTRY_PASSWORD": Self.password,
            ])
        try #require(refresh.status == 0, "\(refresh)")
        // The sidecar runs as the same uid, so it owns the 0600 file.
        try FileManager.default.setAttributes(
            [.ownerAccountID: uid, .groupOwnerAccountID: uid], ofItemAtPath: authFile)

        // The pod's volumes, by the build container's mounts.
        var volumes = [RestrictedPodSandbox.Volume]()
        for mount in pod.build["volumeMounts"] as? [[String: Any]] ?? [] {
            let name = try #require(mount["name"] as? String), path = try #require(mount["mountPath"] as? String)
            let volume = try #require(pod.volumes.first { $0["name"] as? String == name })
            #expect(volume["emptyDir"] != nil, "\(name) is not an emptyDir")
            let host = name == "auth" ? authDirectory : directory.file("volume-\(name)")
            if name != "auth" { try Self.ownedDirectory(host, uid: uid) }
            volumes.append(.init(hostPath: host, mountPath: path, readOnly: mount["readOnly"] as? Bool ?? false))
        }
        #expect(
            volumes.contains { $0.hostPath == authDirectory && $0.readOnly && pod.authFilePath.hasPrefix($0.mountPath) }
        )
        volumes.append(.init(hostPath: caDirectory, mountPath: "/test-ca", readOnly: true))

        let image = "\(registry.host)/demo/app:latest"
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
        for variable in pod.build["env"] as? [[String: Any]] ?? [] {
            environment[variable["name"] as? String ?? ""] = variable["value"] as? String
        }
        #expect(environment["REGISTRY_AUTH_FILE"] == pod.authFilePath)
        try #require(environment["IMAGE"] != nil)
        environment["IMAGE"] = image
        environment["SSL_CERT_FILE"] = "/test-ca/registry.crt"
        let command = (pod.build["command"] as? [String] ?? []) + (pod.build["args"] as? [String] ?? [])
        let workingDirectory = try #require(volumes.first { $0.hostPath.hasSuffix("volume-workspace") }?.mountPath)

        let sandbox = try RestrictedPodSandbox(uid: uid, in: directory)
        let build = try sandbox.run(
            command, environment: environment, workingDirectory: workingDirectory, volumes: volumes)
        #expect(build.status == 0, "\(build)\n\(registry.log.suffix(2000))")

        // The image is in the registry, which lets no one in without the password: the auth file was used.
        let anonymous = try ProcessRunner.run(
            "skopeo", ["inspect", "--tls-verify=false", "--raw", "--no-creds", "docker://\(image)"], timeout: 60)
        #expect(anonymous.status != 0 && anonymous.stderrText.contains("authentication required"), "\(anonymous)")
        let inspect = try ProcessRunner.run(
            "skopeo",
            ["inspect", "--tls-verify=false", "--raw", "--authfile", authFile, "docker://\(image)"], timeout: 60)
        try #require(inspect.status == 0, "\(inspect)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: inspect.stdout) as? [String: Any])
        #expect((manifest["layers"] as? [Any])?.count == 1, "\(inspect.stdoutText)")
    }

    /// The example's previous build, rootless buildah with chroot isolation and vfs storage, in the same sandbox:
    /// it re-executes itself in a user namespace, which RuntimeDefault refuses to a container without
    /// CAP_SYS_ADMIN. (This also shows the sandbox is not vacuous: it refuses what containerd refuses.)
    @Test func rootlessBuildahCannotRunUnderRuntimeDefault() throws {
        try FixtureError.requirePrograms(["runc": "runc", "buildah": "buildah"])
        let directory = try TemporaryDirectory(prefix: "ocicred-buildah-sandbox")
        defer { directory.remove() }
        for name in ["workspace", "tmp", "run"] { try Self.ownedDirectory(directory.file(name), uid: 65532) }
        let script = """
            cd /workspace
            printf 'FROM scratch\\nCOPY built.txt /\\n' > Containerfile && echo x > built.txt
            mkdir -p -m 0700 /tmp/run
            XDG_RUNTIME_DIR=/tmp/run buildah build --isolation chroot --storage-driver vfs -t localhost/app .
            """
        let sandbox = try RestrictedPodSandbox(uid: 65532, in: directory)
        let result = try sandbox.run(
            ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin", "HOME": "/workspace"],
            workingDirectory: "/workspace",
            volumes: [
                .init(hostPath: directory.file("workspace"), mountPath: "/workspace"),
                .init(hostPath: directory.file("tmp"), mountPath: "/var/tmp"),
                .init(hostPath: directory.file("run"), mountPath: "/tmp"),
            ], userName: "build")
        #expect(result.status != 0, "\(result)")
        #expect(result.stderrText.contains("unshare(CLONE_NEWUSER): Operation not permitted"), "\(result)")
    }
}
