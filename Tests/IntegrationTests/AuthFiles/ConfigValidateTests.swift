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

        /// The start most rows share: one valid registry, then the `refresh:` section the row breaks.
        static let ghcrWithRefresh = "registries:\n  - host: ghcr.io\n    credentials: [A_USER, A_TOKEN]\nrefresh:\n"
    }

    static let rejected: [Rejected] = [
        .init(
            name: "three credential variables",
            text: """
                registries:
                  - host: ghcr.io
                    credentials: [A_USER, A_TOKEN, A_EXTRA]
                """, reader: "get", position: "3:18", message: "names 3 variables"),
        .init(
            name: "an alias loop",
            text: """
                registries:
                  - host: a.example
                    alias: b.example
                  - host: b.example
                    alias: a.example
                """, reader: "get", position: "2:5", message: "forms a loop"),
        .init(
            name: "an alias to itself",
            text: """
                registries:
                  - host: a.example
                    alias: a.example
                """, reader: "get", position: "2:5", message: "forms a loop"),
        .init(
            name: "a duplicate host",
            text: """
                registries:
                  - host: ghcr.io
                    credentials: [A_USER, A_TOKEN]
                  - host: GHCR.io
                    credentials: [B_USER, B_TOKEN]
                """, reader: "get", position: "4:5", message: "already has the rule at"),
        .init(
            name: "a duration with words",
            text: Rejected.ghcrWithRefresh + """
                  minInterval: 5 seconds
                  outputs: [{authFile: {path: /tmp/never-written.json}}]
                """, reader: "refresh", position: "5:16", message: "positive duration"),
        .init(
            name: "an unknown unit",
            text: Rejected.ghcrWithRefresh + """
                  minInterval: 5x
                """, reader: "refresh", position: "5:16", message: "positive duration"),
        .init(
            name: "an auth file format podman never wrote",
            text: Rejected.ghcrWithRefresh + """
                  outputs: [{authFile: {path: /tmp/never-written.json, format: podman}}]
                """, reader: "refresh", position: "5:64", message: "format"),
        .init(
            name: "a kubelet cache duration that is not one",
            text: """
                registries:
                  - host: ghcr.io
                    credentials: [A_USER, A_TOKEN]
                kubelet:
                  cacheDuration: soon
                """, reader: "kubelet", position: "5:18", message: "positive duration"),
        .init(
            name: "a role ARN that is not one",
            text: """
                registries:
                  - host: 123456789012.dkr.ecr.us-east-1.amazonaws.com
                    aws:
                      roleArn: not-an-arn
                """, reader: "get", position: "4:16", message: "is not an IAM role ARN"),
        .init(
            name: "a region no AWS partition has",
            text: """
                registries:
                  - host: 123456789012.dkr.ecr.us-east-1.amazonaws.com
                    aws:
                      region: mars-1
                """, reader: "get", position: "4:15", message: "is not an AWS region"),
        .init(
            name: "an Azure client id that is not a GUID",
            text: """
                registries:
                  - host: team.azurecr.io
                    azure:
                      clientId: nope
                """, reader: "get", position: "4:17", message: "GUID"),
        .init(
            name: "a Secret name the API server refuses",
            text: Rejected.ghcrWithRefresh + """
                  outputs:
                    - secret:
                        name: Bad_Name
                        namespaces: [default]
                """, reader: "refresh", position: "7:15", message: "RFC 1123"),
        .init(
            name: "a namespace the API server refuses",
            text: Rejected.ghcrWithRefresh + """
                  outputs:
                    - secret:
                        name: pull
                        namespaces: [default, Ci_NS]
                """, reader: "refresh", position: "8:31", message: "not a namespace name"),
        .init(
            name: "a relative auth-file path",
            text: Rejected.ghcrWithRefresh + """
                  outputs:
                    - authFile:
                        path: auth.json
                """, reader: "refresh", position: "7:15", message: "must be absolute"),
        .init(
            name: "a duration without a unit",
            text: Rejected.ghcrWithRefresh + """
                  minInterval: 5
                  outputs: [{authFile: {path: /tmp/never-written.json}}]
                """, reader: "refresh", position: "5:16", message: "needs a unit"),
        .init(
            name: "a duplicate key",
            text: """
                registries:
                  - host: ghcr.io
                    credentials: [A_USER, A_TOKEN]
                  - host: quay.io
                    credentials: [A_USER, A_TOKEN]
                    credentials: [B_USER, B_TOKEN]
                """, reader: "get", position: "6:5", message: "given twice"),
        .init(
            name: "a NUL byte", text: "registries:\n  - host: ghcr.io\u{0}\n", reader: "get", position: "2:18",
            message: "NUL"),
    ]

    @Test(
        "config validate rejects what get, refresh and kubelet reject, at the same line and column",
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
                stdin:
                    #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"ghcr.io/a/b"}"#,
                extraEnvironment: environment)
        default:
            ran = try OcicredBinary.helper(
                "get", home: home.path, stdin: Data("ghcr.io".utf8), extraEnvironment: environment)
        }
        #expect(ran.status != 0, "\(config.reader): \(ran)")
        #expect((ran.stdoutText + ran.stderrText).contains("\(file):\(config.position)"), "\(config.reader): \(ran)")
    }

    /// Every problem of a file at once, each at its own line:column, in file order: a ConfigMap fixed one error
    /// per CI run is a slow way to learn five.
    @Test func everyErrorOfAFileIsReportedAtItsOwnPlace() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let file = home.file("config.yaml")
        try """
        registries:
          - host: 123456789012.dkr.ecr.us-east-1.amazonaws.com
            aws:
              roleArn: not-an-arn
              region: mars-1
          - host: team.azurecr.io
            azure: {clientId: nope}
        refresh:
          minInterval: 5
          outputs:
            - secret: {name: Bad_Name, namespaces: [Ci_NS], registries: [ghcr.io]}
            - authFile: {path: auth.json, registries: [ghcr.io]}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try OcicredBinary.run(["config", "validate", file], home: home.path, timeout: 30)
        #expect(result.status == 1, "\(result)")
        let lines = result.stderrText.split(separator: "\n").map(String.init)
        let expected = [
            "4:16: `roleArn`", "5:15: `region`", "7:23: `clientId`", "9:16: `minInterval`", "11:22: `name`",
            "11:45: \"Ci_NS\"", "12:24: `path`",
        ]
        #expect(lines.count == expected.count, "\(result.stderrText)")
        for (line, position) in zip(lines, expected) {
            #expect(line.hasPrefix("\(file):\(position)"), "\(line) is not at \(position)")
        }
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
        #expect(
            result.stderrText.contains("warning: \(file):2:5: `host: *.*` matches hosts of any domain"), "\(result)")
        #expect(result.stderrText.contains("`alias: nowhere.example.org` points at a host no rule covers"), "\(result)")
    }

    @Test("OCICRED_CONFIG naming a missing file is an error for every command")
    func missingNamedConfigIsAnError() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        let environment = ["OCICRED_CONFIG": home.file("absent.yaml")]
        let runs = [
            try OcicredBinary.helper(
                "get", home: home.path, stdin: Data("ghcr.io".utf8), extraEnvironment: environment),
            try OcicredBinary.run(
                ["refresh", "--once", "--auth-file", home.file("a.json")], home: home.path,
                extraEnvironment: environment),
            try OcicredBinary.run(
                ["authfile", "--registry", "ghcr.io"], home: home.path, extraEnvironment: environment),
            try OcicredBinary.run(
                ["kubelet"], home: home.path,
                stdin:
                    #"{"apiVersion":"credentialprovider.kubelet.k8s.io/v1","kind":"CredentialProviderRequest","image":"ghcr.io/a/b"}"#,
                extraEnvironment: environment),
        ]
        for result in runs {
            #expect(result.status != 0, "\(result)")
            #expect((result.stdoutText + result.stderrText).contains("absent.yaml"), "\(result)")
        }
    }
}
