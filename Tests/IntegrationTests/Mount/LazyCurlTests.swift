import Foundation
import TestSupport
import Testing

/// The credential helper must start as fast as a Go helper (DESIGN.md, "Start-up time is a feature"): libcurl is
/// dlopen()ed by Transport on the first network request and never linked, so a helper call that needs no network
/// does not pay for loading it and its dependencies.
@Suite("libcurl is loaded lazily")
struct LazyCurlTests {
    @Test func helperListDoesNotLoadLibcurl() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        // LD_DEBUG=libs makes the dynamic loader report every library it searches for and loads, on stderr.
        let result = try OcicredBinary.helper(
            "list", home: home.path, stdin: Data(), extraEnvironment: ["LD_DEBUG": "libs"])

        #expect(result.status == 0, "\(result)")
        // The loader did report (otherwise the next check would pass vacuously)…
        #expect(result.stderrText.contains("libc.so.6"), "LD_DEBUG produced no loader trace: \(result.stderrText)")
        // …and curl was not among what it loaded.
        #expect(!result.stderrText.contains("libcurl"), "libcurl loaded at start-up:\n\(result.stderrText)")
    }

    @Test func binaryHasNoLinkTimeDependencyOnLibcurl() throws {
        let result = try ProcessRunner.run("readelf", ["-d", OcicredBinary.path], timeout: 30)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.contains("(NEEDED)"))
        #expect(!result.stdoutText.contains("libcurl"), "\(result.stdoutText)")
    }
}
