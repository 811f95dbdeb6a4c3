import FoundationEssentials
import Testing

@testable import Credentials

private let sha256Hex = String(repeating: "a1b2c3d4", count: 8)
private let sha512Hex = String(repeating: "0f", count: 64)

struct ParsedReferenceCase: Sendable, CustomTestStringConvertible {
    let input: String
    let host: String
    let repository: String
    let tag: String?
    let digest: String?

    init(_ input: String, _ host: String, _ repository: String, tag: String? = "latest", digest: String? = nil) {
        self.input = input
        self.host = host
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    var testDescription: String { input }
}

struct RejectedReferenceCase: Sendable, CustomTestStringConvertible {
    let input: String
    let error: ReferenceError

    init(_ input: String, _ error: ReferenceError) {
        self.input = input
        self.error = error
    }

    var testDescription: String { input.count > 60 ? String(input.prefix(60)) + "…" : input }
}

@Suite("Reference")
struct ReferenceTests {
    static let parsed: [ParsedReferenceCase] = [
        .init("ubuntu", "docker.io", "library/ubuntu"),
        .init("ubuntu:22.04", "docker.io", "library/ubuntu", tag: "22.04"),
        .init("library/ubuntu", "docker.io", "library/ubuntu"),
        .init("myorg/app:1.0", "docker.io", "myorg/app", tag: "1.0"),
        .init("a/b/c", "docker.io", "a/b/c"),
        .init("docker.io/ubuntu", "docker.io", "library/ubuntu"),
        .init("index.docker.io/ubuntu", "docker.io", "library/ubuntu"),
        .init("index.docker.io/myorg/app", "docker.io", "myorg/app"),
        .init("localhost/app", "localhost", "app"),
        .init("localhost:5000/team/app:v2", "localhost:5000", "team/app", tag: "v2"),
        .init("registry.example.com/team/sub/app", "registry.example.com", "team/sub/app"),
        .init("127.0.0.1:5000/app:tag", "127.0.0.1:5000", "app", tag: "tag"),
        .init("[::1]:5000/app:1.0", "[::1]:5000", "app", tag: "1.0"),
        .init("[fe80::1]/app", "[fe80::1]", "app"),
        .init("my-registry:8443/x", "my-registry:8443", "x"),
        .init(
            "ghcr.io/owner/repo@sha256:\(sha256Hex)", "ghcr.io", "owner/repo", tag: nil,
            digest: "sha256:\(sha256Hex)"),
        .init(
            "ghcr.io/owner/repo:v1@sha256:\(sha256Hex)", "ghcr.io", "owner/repo", tag: "v1",
            digest: "sha256:\(sha256Hex)"),
        .init("ubuntu@sha512:\(sha512Hex)", "docker.io", "library/ubuntu", tag: nil, digest: "sha512:\(sha512Hex)"),
        .init("quay.io/a_b/c__d/e-f/g---h/i.j:T_1.x-y", "quay.io", "a_b/c__d/e-f/g---h/i.j", tag: "T_1.x-y"),
        .init("Registry.Example.COM/app", "Registry.Example.COM", "app"),
        // distribution's splitDockerDomain: an upper-case first component can only be a host.
        .init("MyHost/app", "MyHost", "app"),
        .init(
            "ubuntu:" + String(repeating: "t", count: 128), "docker.io", "library/ubuntu",
            tag: String(repeating: "t", count: 128)),
        // As in distribution, a lone `name:port` is a Docker Hub image with a numeric tag.
        .init("localhost:5000", "docker.io", "library/localhost", tag: "5000"),
    ]

    @Test("valid references parse into host, repository, tag and digest", arguments: parsed)
    func parsesValidReference(_ testCase: ParsedReferenceCase) throws {
        let reference = try Reference.parse(testCase.input)
        #expect(reference.host == testCase.host)
        #expect(reference.repository == testCase.repository)
        #expect(reference.tag == testCase.tag)
        #expect(reference.digest == testCase.digest)
    }

    static let rejected: [RejectedReferenceCase] = [
        .init("", .empty),
        .init("Ubuntu", .uppercaseRepository("library/Ubuntu")),
        .init("docker.io/Library/ubuntu", .uppercaseRepository("Library/ubuntu")),
        .init(":5000/app", .invalidHost("")),
        .init("registry.example.com:99999/app", .invalidPort("99999")),
        .init("registry.example.com:0/app", .invalidPort("0")),
        .init("registry.example.com:abc/app", .invalidPort("abc")),
        .init("registry.example.com:/app", .invalidPort("")),
        .init("a..b/c", .invalidHost("a..b")),
        .init("-bad.example.com/app", .invalidHost("-bad.example.com")),
        .init("[::1/app", .invalidHost("[::1")),
        .init("ubuntu@sha256:abc", .invalidDigest("sha256:abc")),
        .init("ubuntu@sha256:\(sha256Hex.uppercased())", .invalidDigest("sha256:\(sha256Hex.uppercased())")),
        .init("ubuntu@md5:\(String(sha256Hex.prefix(32)))", .invalidDigest("md5:\(String(sha256Hex.prefix(32)))")),
        .init("ubuntu@latest", .invalidDigest("latest")),
        .init("ubuntu:", .invalidTag("")),
        .init("ubuntu:.bad", .invalidTag(".bad")),
        .init("ubuntu:" + String(repeating: "t", count: 129), .invalidTag(String(repeating: "t", count: 129))),
        .init("team/-app", .invalidRepository("team/-app")),
        .init("team//app", .invalidRepository("team//app")),
        .init("team/app_", .invalidRepository("team/app_")),
        .init("team/app:tag:more", .invalidRepository("team/app:tag")),
        .init("registry.example.com/", .invalidRepository("")),
        .init("registry.example.com/" + String(repeating: "a", count: 250), .nameTooLong(271)),
        .init("user:secret@registry.example.com/app", .userinfoNotAllowed),
        .init("user:secret@registry.example.com", .userinfoNotAllowed),
        .init("https://registry.example.com/app", .schemeInReference("https")),
        .init("https://user:secret@registry.example.com/app", .userinfoNotAllowed),
        .init("ubuntu latest", .invalidCharacter(" ")),
        .init("ubuntu\n", .invalidCharacter("\n")),
        .init(sha256Hex, .imageIDNotReference),
    ]

    @Test("invalid references are rejected with the matching error", arguments: rejected)
    func rejectsInvalidReference(_ testCase: RejectedReferenceCase) {
        #expect(throws: testCase.error) { try Reference.parse(testCase.input) }
    }

    @Test("uppercase repository is rejected")
    func uppercaseRepositoryIsRejected() {
        #expect(throws: ReferenceError.uppercaseRepository("Team/App")) {
            try Reference.parse("registry.example.com/Team/App:1.0")
        }
    }

    @Test("a name of exactly 255 characters is accepted")
    func nameAtLimitIsAccepted() throws {
        let repository = String(repeating: "a", count: 255 - "registry.example.com/".count)
        let reference = try Reference.parse("registry.example.com/" + repository)
        #expect((reference.host + "/" + reference.repository).count == 255)
    }

    @Test(
        "description is the fully normalised reference and parses back to the same value",
        arguments: ["ubuntu", "myorg/app@sha256:\(sha256Hex)", "[::1]:5000/a/b:c@sha256:\(sha256Hex)", "MyHost/app"])
    func descriptionRoundTrips(_ input: String) throws {
        let reference = try Reference.parse(input)
        #expect(try Reference.parse(reference.description) == reference)
    }

    @Test("description of a familiar name spells out registry, library namespace and tag")
    func familiarNameDescription() throws {
        #expect(try Reference.parse("ubuntu").description == "docker.io/library/ubuntu:latest")
    }

    @Test("Codable stores the reference as its string form and validates on decode")
    func codableUsesStringForm() throws {
        let reference = try Reference.parse("quay.io/team/app:1.0")
        let encoded = try JSONEncoder().encode([reference])
        #expect(
            String(decoding: encoded, as: UTF8.self) == #"["quay.io\/team\/app:1.0"]"#
                || String(decoding: encoded, as: UTF8.self) == #"["quay.io/team/app:1.0"]"#)
        #expect(try JSONDecoder().decode([Reference].self, from: encoded) == [reference])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Reference].self, from: Data(#"["Bad/Repo"]"#.utf8))
        }
    }

    @Test("error messages never repeat a password given as user information")
    func messagesDoNotEchoPasswords() {
        for input in ["user:hunter2@registry.example.com/app", "https://user:hunter2@registry.example.com/app"] {
            do {
                _ = try Reference.parse(input)
                Issue.record("\(input) parsed")
            } catch {
                #expect(!error.description.contains("hunter2"))
                #expect(error.description.contains("remove the user name and password from the URL"))
            }
        }
    }
}
