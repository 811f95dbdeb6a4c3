import Foundation
import TestSupport
import Testing

/// `ocicred authfile` as a CI job uses it: write a file, hand it to `buildah push --authfile`, `podman pull
/// --authfile` and `skopeo inspect --authfile`, against the Debian docker-registry with htpasswd auth.
@Suite(.serialized)
struct AuthfileTests {
    let username = "ci-pusher"

    @Test func buildahPushPodmanPullAndSkopeoInspectUseAnAuthfileFromEnvironmentVariables() throws {
        let password = "ci:secret:" + UUID().uuidString.prefix(6).lowercased()
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }

        let (authfile, write) = try sandbox.writeAuthfile(host: registry.host, username: username, password: password)
        #expect(write.stdoutText.contains("\(registry.host): \(username), no expiry"), "\(write.stdoutText)")
        #expect(!write.stdoutText.contains(password) && !write.stderrText.contains(password))
        let mode = try FileManager.default.attributesOfItem(atPath: authfile)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let local = try sandbox.commitScratchImage(name: "ci/app:1", content: "built by a CI job\n")
        let reference = "\(registry.host)/ci/app:1"
        try sandbox.expectRealClientsUse(authfile: authfile, reference: reference, local: local) { registry.log }
    }

    @Test func authfileResolvesStoredCredentialsLikeGet() throws {
        let password = "stored:" + UUID().uuidString.prefix(6).lowercased()
        let registry = try RegistryFixture.start(username: username, password: password)
        defer { registry.stop() }
        let sandbox = try ContainersSandbox(credHelpers: [:])
        defer { sandbox.remove() }
        let store = try sandbox.helper(
            "store",
            stdin: "{\"ServerURL\":\"\(registry.host)\",\"Username\":\"\(username)\",\"Secret\":\"\(password)\"}")
        try #require(store.status == 0, "store: \(store)")

        let write = try OcicredBinary.run(
            ["authfile", "--registry", registry.host, "--format", "docker"], home: sandbox.home)
        try #require(write.status == 0, "ocicred authfile: \(write)")
        // stdout is the file itself, the report went to stderr.
        let object = try JSONSerialization.jsonObject(with: write.stdout) as? [String: Any]
        let auths = try #require(object?["auths"] as? [String: [String: String]])
        #expect(auths[registry.host]?["auth"] == Data("\(username):\(password)".utf8).base64EncodedString())
        #expect(write.stderrText.contains("\(registry.host): \(username)"))

        let authfile = sandbox.directory.file("from-store.json")
        try write.stdout.write(to: URL(fileURLWithPath: authfile))
        let inspect = try sandbox.run(
            "skopeo",
            [
                "inspect", "--authfile", authfile, "--tls-verify=false",
                "docker://\(registry.host)/nothing/here:1",
            ])
        // Authenticated but the image does not exist: the registry gets as far as "manifest unknown", which it
        // answers only to a client whose credentials it accepted (any other failure is not this one).
        #expect(inspect.status != 0, "\(inspect)")
        #expect(inspect.stderrText.lowercased().contains("manifest unknown"), "\(inspect)")
    }

    @Test func readersNeverSeeAPartialAuthFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let authfile = dir.file("auth.json")
        let env = ["U": "user", "P": String(repeating: "p", count: 2000)]
        let first = try OcicredBinary.run(
            ["authfile", "--registry", "r0.example", "--from-env", "U", "P", "-o", authfile],
            home: dir.path, extraEnvironment: env)
        try #require(first.status == 0, "\(first)")

        // One process rewrites the file in a loop (growing and shrinking it) while this one parses it.
        let script = """
            i=0
            while [ ! -e "$STOP" ]; do
              i=$((i+1))
              if [ $((i % 2)) -eq 0 ]; then flag=--replace; else flag=; fi
              "$BIN" authfile --registry "r$((i % 7)).example" --from-env U P -o "$FILE" $flag >/dev/null || exit 1
            done
            """
        let stop = dir.file("stop")
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/bash")
        writer.arguments = ["-c", script]
        writer.environment = OcicredBinary.environment(
            home: dir.path,
            extra: env.merging([
                "BIN": OcicredBinary.path, "FILE": authfile, "STOP": stop,
            ]) { $1 })
        try writer.run()
        var failures = 0
        var reads = 0
        var changes = 0
        var previous = Data()
        // At least 5 000 parses, and on until the writer has replaced the file 50 times under us.
        while reads < 5000 || changes < 50, reads < 2_000_000 {
            reads += 1
            guard let data = FileManager.default.contents(atPath: authfile),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let auths = object["auths"] as? [String: Any], !auths.isEmpty
            else {
                failures += 1
                continue
            }
            if data != previous {
                changes += 1
                previous = data
            }
        }
        FileManager.default.createFile(atPath: stop, contents: Data())
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0, "the writer loop failed")
        #expect(failures == 0, "\(failures) of \(reads) reads saw a partial or empty file")
        #expect(changes >= 50, "the file changed only \(changes) times while being read; the test proved nothing")
    }
}
