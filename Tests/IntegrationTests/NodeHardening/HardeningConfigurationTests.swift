import Foundation
import TestSupport
import Testing

/// Small rules from the hardening issue, through the built binary: the crypto fast path yields to an OpenSSL
/// the user configured (and fails closed when that configuration cannot be honoured), and relative XDG values
/// are ignored as the XDG spec says.
@Suite("configuration ocicred must honour, through the binary")
struct HardeningConfigurationTests {
    static let store = #"{"ServerURL":"openssl.example.com","Username":"u","Secret":"openssl-canary"}"#

    /// An OpenSSL configuration file whose only setting is `default_properties`, as a user or a FIPS image sets it.
    static func writeOpenSSLConfig(defaultProperties: String, to path: String) throws {
        try """
        openssl_conf = openssl_init
        [openssl_init]
        alg_section = evp_properties
        [evp_properties]
        default_properties = \(defaultProperties)
        """.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("OPENSSL_CONF with default_properties = fips=yes and no FIPS provider: refused, nothing written")
    func fipsPropertyWithoutAFipsProviderFailsClosed() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try Self.writeOpenSSLConfig(defaultProperties: "fips=yes", to: home.file("fips.cnf"))
        let environment = ["OPENSSL_CONF": home.file("fips.cnf")]
        let stored = try OcicredBinary.helper(
            "store", home: home.path, stdin: Data(Self.store.utf8), extraEnvironment: environment)
        #expect(stored.status == 1, "\(stored)")
        #expect(stored.stdoutText.contains("OpenSSL is configured"), "\(stored)")
        #expect(stored.stdoutText.contains(home.file("fips.cnf")), "it names the configuration: \(stored)")
        #expect(!FileManager.default.fileExists(atPath: home.file(".local/share/ocicred")), "nothing was written")
        let listed = try OcicredBinary.helper("list", home: home.path, stdin: Data(), extraEnvironment: environment)
        #expect(listed.status == 1, "\(listed)")
        let authfile = try OcicredBinary.run(
            ["authfile", "--registry", "r.example", "--from-env", "U", "P"], home: home.path,
            extraEnvironment: environment.merging(["U": "u", "P": "p"]) { $1 })
        #expect(authfile.status == 1 && authfile.stderrText.contains("OpenSSL is configured"), "\(authfile)")
    }

    /// What this shows is compatibility both ways under such a configuration; that the EVP route is the one taken
    /// is `CryptoRouteTests`' to show (the built-in path would pass this round trip too).
    @Test("under a configured OpenSSL that offers the algorithms, the store stays readable both ways")
    func configuredOpenSSLIsHonouredAndCompatible() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try Self.writeOpenSSLConfig(defaultProperties: "?provider=default", to: home.file("default.cnf"))
        let configured = ["OPENSSL_CONF": home.file("default.cnf")]
        // Written on the fast path, read through EVP; then written through EVP, read on the fast path.
        let first = try OcicredBinary.helper("store", home: home.path, stdin: Data(Self.store.utf8))
        try #require(first.status == 0, "\(first)")
        let read = try OcicredBinary.helper(
            "get", home: home.path, stdin: Data("openssl.example.com".utf8), extraEnvironment: configured)
        #expect(read.status == 0 && read.stdoutText.contains("openssl-canary"), "\(read)")
        let second = try OcicredBinary.helper(
            "store", home: home.path,
            stdin: Data(#"{"ServerURL":"evp.example.com","Username":"u","Secret":"evp-canary"}"#.utf8),
            extraEnvironment: configured)
        try #require(second.status == 0, "\(second)")
        let back = try OcicredBinary.helper("get", home: home.path, stdin: Data("evp.example.com".utf8))
        #expect(back.status == 0 && back.stdoutText.contains("evp-canary"), "\(back)")
    }

    @Test("relative XDG_* values are ignored, as the XDG spec says")
    func relativeXDGValuesAreIgnored() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let workingDirectory = try TemporaryDirectory()
        defer { workingDirectory.remove() }
        var environment = OcicredBinary.environment(home: home.path)
        for name in ["XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR"] {
            environment[name] = "relative/" + name.lowercased()
        }
        let link = try OcicredBinary.linkHelper(into: home.path)
        let result = try ProcessRunner.shell(
            "cd '\(workingDirectory.path)' && printf '%s' '\(Self.store)' | '\(link)/docker-credential-ocicred' store",
            environment: environment)
        #expect(result.status == 0, "\(result)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: workingDirectory.path).isEmpty,
            "nothing lands relative to the working directory")
        #expect(FileManager.default.fileExists(atPath: home.file(".local/share/ocicred")), "the store is under HOME")
        #expect(FileManager.default.fileExists(atPath: home.file(".config/ocicred/key")), "the key is under HOME")
    }
}
