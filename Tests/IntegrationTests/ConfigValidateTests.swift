import Foundation
import TestSupport
import Testing

/// `ocicred config validate` on every example in manifests/examples (what the ConfigMaps ship) and on a broken
/// file, with the built binary.
@Suite struct ConfigValidateTests {
    static let examples = ManifestFiles.root + "/examples"
    static let names = ["aws.yaml", "gcp.yaml", "azure.yaml", "static.yaml", "pull-through-cache.yaml"]

    @Test(arguments: names)
    func everyExampleIsValid(name: String) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let file = Self.examples + "/" + name
        let result = try OcicredBinary.run(["config", "validate", file], home: home.path, timeout: 30)
        #expect(result.status == 0, "\(result)")
        #expect(
            result.stdoutText.range(of: #"^\Q\#(file)\E: ok \(\d+ rules?\)\n$"#, options: .regularExpression) != nil,
            "\(result.stdoutText)")
    }

    @Test func theExamplesDirectoryHoldsExactlyTheDocumentedExamples() throws {
        let present = try FileManager.default.contentsOfDirectory(atPath: Self.examples).filter {
            $0.hasSuffix(".yaml")
        }
        #expect(Set(present) == Set(Self.names))
    }

    @Test func aBrokenConfigIsReportedWithFileLineAndColumn() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let file = home.file("bad.yaml")
        try
            "registries:\n  - host: ghcr.io\n    provider: static\n    credentials: [GITHUB_USER, GITHUB_TOKEN]\n    rolearn: x\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let result = try OcicredBinary.run(["config", "validate", file], home: home.path, timeout: 30)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderrText.hasPrefix("\(file):5:5: unknown key `rolearn`"), "\(result.stderrText)")
    }

    @Test func aMissingFileIsAnError() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let result = try OcicredBinary.run(
            ["config", "validate", home.file("absent.yaml")], home: home.path, timeout: 30)
        #expect(result.status == 1)
        #expect(result.stderrText.contains("absent.yaml: cannot read"), "\(result.stderrText)")
    }
}
