import Foundation
import TestSupport
import Testing

/// The providers as podman meets them: `docker-credential-ocicred get` for a cloud registry host, with the
/// machine's identity pointed at a strict fixture on loopback.
@Suite(.serialized)
struct ProviderProcessTests {
    @Test func gcrGetMintsFromTheMetadataServerAndServesTheCacheAfterwards() throws {
        let fixture = try FixtureServer(script: "gcp_fixtures.py")
        defer { fixture.stop() }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let env = [
            "GCE_METADATA_HOST": "127.0.0.1:\(fixture.port)", "CLOUDSDK_CONFIG": dir.file("gcloud"),
            "GOOGLE_APPLICATION_CREDENTIALS": "",
        ]
        let first = try OcicredBinary.helper("get", home: dir.path, stdin: Data("gcr.io".utf8), extraEnvironment: env)
        #expect(first.status == 0, "\(first)")
        let object = try JSONSerialization.jsonObject(with: first.stdout) as? [String: String]
        #expect(object?["Username"] == "oauth2accesstoken")
        #expect((object?["Secret"] ?? "").count > 10)
        let second = try OcicredBinary.helper(
            "get", home: dir.path, stdin: Data("europe-west1-docker.pkg.dev".utf8), extraEnvironment: env)
        #expect(second.status == 0, "\(second)")
        // gcr.io again: from the token cache, byte-identical.
        let again = try OcicredBinary.helper("get", home: dir.path, stdin: Data("gcr.io".utf8), extraEnvironment: env)
        #expect(again.stdout == first.stdout)
    }

    @Test func publicGcrPullsStayAnonymousWhenNoGoogleIdentityExists() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let closed = try FreePort.pick()
        let env = ["GCE_METADATA_HOST": "127.0.0.1:\(closed)", "CLOUDSDK_CONFIG": dir.file("gcloud")]
        let started = ContinuousClock.now
        let result = try OcicredBinary.helper("get", home: dir.path, stdin: Data("gcr.io".utf8), extraEnvironment: env)
        #expect(ContinuousClock.now - started < .seconds(2))
        // not-found lets podman pull gcr.io/distroless anonymously; stderr stays quiet for podman, and the cause
        // is there for the curious who ask with OCICRED_LOG_LEVEL.
        #expect(result.stdoutText == "credentials not found in native keychain\n", "\(result)")
        #expect(result.stderr.isEmpty, "\(result)")
        let curious = try OcicredBinary.helper(
            "get", home: dir.path, stdin: Data("gcr.io".utf8),
            extraEnvironment: env.merging(["OCICRED_LOG_LEVEL": "warning"]) { $1 })
        #expect(curious.stderrText.contains("tried"), "\(curious)")
    }
}
