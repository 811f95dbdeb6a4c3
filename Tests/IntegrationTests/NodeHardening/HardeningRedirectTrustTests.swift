import Foundation
import TestSupport
import Testing

/// Leaving the origin drops the origin's trust, through the built binary: a TLS registry the user trusts with
/// `--tls-verify=false` or a certs.d CA redirects blob downloads (distribution's `redirect` middleware, as in front
/// of S3 or a CDN) to another HTTPS host; that host is verified against the system store and OCICRED_CA_FILE only.
@Suite("redirects drop the registry's TLS exceptions, through the binary", .serialized)
struct HardeningRedirectTrustTests {
    /// How the user told ocicred to trust the registry.
    enum Trust: String, CaseIterable, CustomTestStringConvertible {
        case tlsVerifyFalse, certsDirectoryCA
        var testDescription: String { rawValue }
    }

    @Test(
        "the blob host a registry redirects to is not trusted through the registry's exception",
        arguments: Trust.allCases)
    func redirectTargetIsVerifiedOnItsOwn(trust: Trust) throws {
        let directory = try TemporaryDirectory(prefix: "ocicred-redirect")
        defer { directory.remove() }
        let home = directory.file("home")
        // One certificate for both hosts (127.0.0.1): trusting it for the registry must not trust the blob host.
        let certificate = try SelfSignedCertificate.loopback(in: directory.path, name: "tls")
        let storeRoot = directory.file("blob-root")
        let store = try FixtureServer(
            script: "blob_store.py",
            arguments: ["--root", storeRoot, "--cert", certificate.certificateFile, "--key", certificate.keyFile])
        defer { store.stop() }
        let password = "pw-" + UUID().uuidString.prefix(6).lowercased()
        let registry = try RegistryFixture.start(
            username: "redirected", password: password, tls: certificate,
            redirectBlobsTo: "https://127.0.0.1:\(store.port)")
        defer { registry.stop() }
        try FileManager.default.createSymbolicLink(atPath: storeRoot, withDestinationPath: registry.storageDirectory)

        let image = try LayeredImage.build(in: directory)
        try image.push(to: registry, password: password, repository: "cdn/app", directory: directory)
        var environment = try OcicredBinary.registryEnvironment(home: home)
        var access: [String] = []
        switch trust {
        case .tlsVerifyFalse:
            access = ["--tls-verify=false"]
        case .certsDirectoryCA:
            try FileManager.default.createDirectory(
                atPath: home + "/certs.d/\(registry.host)", withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: certificate.certificateFile, toPath: home + "/certs.d/\(registry.host)/ca.crt")
        }
        let login = try OcicredBinary.run(
            ["login", registry.host, "-u", "redirected", "--password-stdin"] + access, home: home,
            stdin: password + "\n", extraEnvironment: environment)
        try #require(login.status == 0, "\(login)")
        let reference = "\(registry.host)/cdn/app:\(image.tag)"

        let refused = try OcicredBinary.run(
            ["index", reference] + access, home: home, extraEnvironment: environment, timeout: 120)
        #expect(refused.status != 0, "the blob host was trusted through the registry's exception: \(refused)")
        #expect(refused.stderrText.contains("127.0.0.1:\(store.port)"), "the error names the blob host: \(refused)")
        #expect(
            try store.counter("served", caFile: certificate.certificateFile) == 0,
            "no blob was taken from an unverified host")

        // The same download works once the user trusts the blob host itself: the redirect was the only thing
        // between the two runs, not a broken set-up.
        environment["OCICRED_CA_FILE"] = certificate.certificateFile
        let trusted = try OcicredBinary.run(
            ["index", reference] + access, home: home, extraEnvironment: environment, timeout: 120)
        #expect(trusted.status == 0, "\(trusted)\n\(registry.log.suffix(2000))")
        #expect(
            try store.counter("served", caFile: certificate.certificateFile) > 0, "blobs came from the redirect target")
        // The store refuses any Authorization header, as S3 does; none reached it, so the registry's credential
        // stayed with the registry.
        #expect(try store.counter("authorization_refused", caFile: certificate.certificateFile) == 0)
    }
}
