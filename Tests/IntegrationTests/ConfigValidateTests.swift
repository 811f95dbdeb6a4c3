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

    /// A config the runtime rejects, the command that reads that part of it, and where the problem is.
    struct Rejected: CustomTestStringConvertible, Sendable {
        let name: String
        let text: String
        /// `get`, `refresh` or `kubelet`: the command whose run must fail on it as validate does.
        let reader: String
        /// `line:column` of the problem.
        let position: String
        let message: String
        var testDescription: String { name }
    }

    static let rejected: [Rejected] = [
        .init(name: "three credential variables", text: """
            registries:
              - host: ghcr.io
                credentials: [A_USER, A_TOKEN, A_EXTRA]
            """, reader: "get", position: "3:18", message: "names 3 variables"),
        .init(name: "an alias loop", text: """
            registries:
              - host: a.example
                alias: b.example
              - host: b.example
                alias: a.example
            """, reader: "get", position: "2:5", message: "forms a loop"),
        .init(name: "an alias to itself", text: """
            registries:
              - host: a.example
                alias: a.example
            """, reader: "get", position: "2:5", message: "forms a loop"),
        .init(name: "a duplicate host", text: """
            registries:
              - host: ghcr.io
                credentials: [A_USER, A_TOKEN]
              - host: GHCR.io
                credentials: [B_USER, B_TOKEN]
            """, reader: "get", position: "4:5", message: "already has the rule at"),
        .init(name: "a duration with words", text: """
            registries:
              - host: ghcr.io
                credentials: [A_USER, A_TOKEN]
            refresh:
              minInterval: 5 seconds
              outputs: [{authFile: {path: /tmp/never-written.json}}]
            """, reader: "refresh", position: "5:16", message: "positive duration"),
        .init(name: "an unknown unit", text: """
            registries:
              - host: ghcr.io
                credentials: [A_USER, A_TOKEN]
            refresh:
              minInterval: 5x
            """, reader: "refresh", position: "5:16", message: "positive duration"),
        .init(name: "an auth file format podman never wrote", text: """
            registries:
              - host: ghcr.io
                credentials: [A_USER, A_TOKEN]
            refresh:
              outputs: [{authFile: {path: /tmp/never-written.json, format: podman}}]
            """, reader: "refresh", position: "5:64", message: "format"),
        .init(name: "a kubelet cache duration that is not one", text: """
            registries:
              - host: ghcr.io
                credentials: [A_USER, A_TOKEN]
            kubelet:
              cacheDuration: soon
            """, reader: "kubelet", position: "5:18", message: "positive duration"),
        .init(name: "a NUL byte", text: "registries:\n  - host: ghcr.io\u{0}\n", reader: "get", position: "2:18",
            message: "NUL"),
    ]

    @Test("config validate rejects what get, refresh and kubelet reject, at the same line and column",
        arguments: rejected)
    func validateAgreesWithTheRuntime(config: Rejected) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let file = home.file("config.yaml")
        try config.text.write(toFile: file, atomically: true, encoding: .utf8)
        let validated = try OcicredBinary.run(["config", "validate", file], home: home.path, timeout: 30)
        #expect(validated.status == 1, "validate: \(validated)")
        #expect(validated.stderrText.hasPrefix("\(file):\(config.position): "), "validate: \(validated.stderrText)")
        #expect(validated.stderrText.contains(config.message), "validate: \(validated.stderrText)")
        let environment = ["OCICRED_CONFIG": file, "A_USER": "u", "A_TOKEN": "t", "B_USER": "u", "B_TOKEN": "t"]
        let ran: ProcessResult
        switch config.reader {
        case "refresh":
            ran = try OcicredBinary.run(["refresh", "--once"], home: home.path, extraEnvironment: environment)
        case "kubelet":
            ran = try OcicredBinary.run(
                ["kubelet"], home: home.path,
                stdin: #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"ghcr.io/a/b"}"#,
                extraEnvironment: environment)
        default:
            ran = try OcicredBinary.helper("get", home: home.path, stdin: Data("ghcr.io".utf8), extraEnvironment: environment)
        }
        #expect(ran.status != 0, "\(config.reader): \(ran)")
        #expect((ran.stdoutText + ran.stderrText).contains("\(file):\(config.position)"), "\(config.reader): \(ran)")
    }

    @Test("over-broad host patterns and aliases to nowhere are warnings, not errors")
    func warnings() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let file = home.file("config.yaml")
        try """
            registries:
              - host: "*.*"
                credentials: [A_USER, A_TOKEN]
              - host: cache.example
                alias: nowhere.example.org
            """.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try OcicredBinary.run(["config", "validate", file], home: home.path, timeout: 30)
        #expect(result.status == 0, "\(result)")
        #expect(result.stderrText.contains("warning: \(file):2:5: `host: *.*` matches hosts of any domain"), "\(result)")
        #expect(result.stderrText.contains("`alias: nowhere.example.org` points at a host no rule covers"), "\(result)")
    }

    @Test("OCICRED_CONFIG naming a missing file is an error for every command")
    func missingNamedConfigIsAnError() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let environment = ["OCICRED_CONFIG": home.file("absent.yaml")]
        let runs = [
            try OcicredBinary.helper("get", home: home.path, stdin: Data("ghcr.io".utf8), extraEnvironment: environment),
            try OcicredBinary.run(["refresh", "--once", "--auth-file", home.file("a.json")], home: home.path,
                extraEnvironment: environment),
            try OcicredBinary.run(["authfile", "--registry", "ghcr.io"], home: home.path, extraEnvironment: environment),
            try OcicredBinary.run(
                ["kubelet"], home: home.path,
                stdin: #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"ghcr.io/a/b"}"#,
                extraEnvironment: environment),
        ]
        for result in runs {
            #expect(result.status != 0, "\(result)")
            #expect((result.stdoutText + result.stderrText).contains("absent.yaml"), "\(result)")
        }
    }
}
