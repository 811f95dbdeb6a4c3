import Foundation
import TestSupport
import Testing

/// `ocicred configure` as a user runs it on their docker config: idempotent, everything else kept, and a
/// dry run that shows the change without making it.
struct ConfigureCommandTests {
    let dockerConfig = """
        {"auths":{"quay.io":{"auth":"cXVheXVzZXI6cXVheXBhc3M="}},"credsStore":"desktop","currentContext":"default"}
        """

    @Test func configureDryRunShowsTheDiffAndWritesNothing() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("config.json")
        try Data(dockerConfig.utf8).write(to: URL(fileURLWithPath: path))
        let result = try OcicredBinary.run(
            ["configure", "--docker-config", path, "--gcr", "--dry-run"], home: dir.path)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.contains("+ credHelpers.\"eu.gcr.io\": \"ocicred\""), "\(result.stdoutText)")
        // Only what changes is shown, and never a credential: the auths entry stays out of the output.
        #expect(!result.stdoutText.contains("cXVheXVzZXI6cXVheXBhc3M="), "\(result.stdoutText)")
        #expect(!result.stdoutText.contains("quay.io"), "\(result.stdoutText)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == dockerConfig)
    }

    @Test func configureTwiceChangesTheFileOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("config.json")
        try Data(dockerConfig.utf8).write(to: URL(fileURLWithPath: path))
        let first = try OcicredBinary.run(
            ["configure", "--docker-config", path, "--registry", "ghcr.io", "--artifact-registry", "europe-west1"],
            home: dir.path)
        #expect(first.status == 0, "\(first)")
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        let object = try JSONSerialization.jsonObject(with: written) as? [String: Any]
        #expect(
            object?["credHelpers"] as? [String: String] == [
                "ghcr.io": "ocicred", "europe-west1-docker.pkg.dev": "ocicred",
            ])
        #expect(object?["credsStore"] as? String == "desktop")
        #expect(object?["currentContext"] as? String == "default")
        #expect((object?["auths"] as? [String: Any])?["quay.io"] != nil)
        let second = try OcicredBinary.run(
            ["configure", "--docker-config", path, "--registry", "ghcr.io"], home: dir.path)
        #expect(second.stdoutText.contains("already configured"), "\(second)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == written)
    }

    @Test func registriesConfSnippetPutsOcicredFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let result = try OcicredBinary.run(["configure", "--registries-conf"], home: dir.path)
        #expect(result.status == 0)
        #expect(result.stdoutText.contains("credential-helpers = [ \"ocicred\", \"containers-auth.json\" ]"))
    }

    @Test func aBrokenConfigFileIsRefusedAndLeftAsItWas() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("config.json")
        let broken = Data("{\"auths\":".utf8)
        try broken.write(to: URL(fileURLWithPath: path))
        let result = try OcicredBinary.run(
            ["configure", "--docker-config", path, "--registry", "ghcr.io"], home: dir.path)
        #expect(result.status == 1)
        #expect(result.stderrText.contains("cannot use the auth file \(path)"), "\(result)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == broken)
    }
}
