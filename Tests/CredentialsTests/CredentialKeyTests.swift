import Testing

@testable import Credentials

struct ServerURLCase: Sendable, CustomTestStringConvertible {
    let serverURL: String
    let host: String
    let path: String

    init(_ serverURL: String, _ host: String, _ path: String = "") {
        self.serverURL = serverURL
        self.host = host
        self.path = path
    }

    var testDescription: String { serverURL }
}

struct RejectedServerURLCase: Sendable, CustomTestStringConvertible {
    let serverURL: String
    let error: ReferenceError

    init(_ serverURL: String, _ error: ReferenceError) {
        self.serverURL = serverURL
        self.error = error
    }

    var testDescription: String { serverURL.debugDescription }
}

@Suite("CredentialKey")
struct CredentialKeyTests {
    static let normalised: [ServerURLCase] = [
        .init("https://index.docker.io/v1/", "docker.io"),
        .init("index.docker.io", "docker.io"),
        .init("registry-1.docker.io", "docker.io"),
        .init("docker.io", "docker.io"),
        .init("https://registry-1.docker.io/v2/", "docker.io"),
        .init("Registry.Example.com:5000", "registry.example.com:5000"),
        .init("http://localhost:5000", "localhost:5000"),
        .init("https://registry.example.com:5000/v2/", "registry.example.com:5000"),
        .init("registry.example.com/team/app", "registry.example.com", "team/app"),
        .init("registry.example.com/team/app/", "registry.example.com", "team/app"),
        .init("registry.example.com///", "registry.example.com"),
        .init("registry.example.com/team/v2", "registry.example.com", "team"),
        .init("https://quay.io/v1/", "quay.io"),
        .init("HTTPS://ghcr.io", "ghcr.io"),
        .init("[::1]:5000", "[::1]:5000"),
        .init("[FE80::1]", "[fe80::1]"),
        .init("123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        .init("docker.io/myorg", "docker.io", "myorg"),
    ]

    @Test("server URLs normalise to a lower-cased host and a namespace path", arguments: normalised)
    func normalisesServerURL(_ testCase: ServerURLCase) throws {
        let key = try CredentialKey(serverURL: testCase.serverURL)
        #expect(key.host == testCase.host)
        #expect(key.path == testCase.path)
    }

    static let rejected: [RejectedServerURLCase] = [
        .init("", .empty),
        .init("https://", .invalidHost("")),
        .init(":5000", .invalidHost("")),
        .init("https:///v2/", .invalidHost("")),
        .init("https://user:hunter2@registry.example.com", .userinfoNotAllowed),
        .init("user@registry.example.com", .userinfoNotAllowed),
        .init("registry.example.com:99999", .invalidPort("99999")),
        .init("registry.example.com:65536", .invalidPort("65536")),
        .init("registry.example.com:0", .invalidPort("0")),
        .init("registry.example.com:http", .invalidPort("http")),
        .init("registry.example.com:", .invalidPort("")),
        .init("registry example.com", .invalidCharacter(" ")),
        .init("registry.example.com\t", .invalidCharacter("\t")),
        .init("registry.example.com\u{7}", .invalidCharacter("\u{7}")),
        .init("ftp://registry.example.com", .unsupportedScheme("ftp")),
        .init("registry.example.com/Team/app", .uppercaseRepository("Team/app")),
        .init("registry.example.com/team//app", .invalidRepository("team//app")),
        .init("registry.example.com/team/app:1.0", .invalidRepository("team/app:1.0")),
        .init("registry_example.com", .invalidHost("registry_example.com")),
        .init("registry.example.com/" + String(repeating: "a", count: 240), .nameTooLong(261)),
    ]

    @Test("malformed server URLs are rejected with the matching error", arguments: rejected)
    func rejectsServerURL(_ testCase: RejectedServerURLCase) {
        #expect(throws: testCase.error) { try CredentialKey(serverURL: testCase.serverURL) }
    }

    @Test("user information is refused without echoing the password")
    func userinfoIsNotEchoed() {
        for serverURL in ["https://user:hunter2@quay.io", "user:hunter2@quay.io", "https://user:hun/ter2@quay.io"] {
            do {
                _ = try CredentialKey(serverURL: serverURL)
                Issue.record("\(serverURL) was accepted")
            } catch {
                #expect(error == .userinfoNotAllowed)
                #expect(!error.description.contains("hunter2") && !error.description.contains("ter2"))
                #expect(error.description.contains("remove the user name and password from the URL"))
            }
        }
    }

    @Test("lookup order walks from the namespaced key down to the bare host")
    func lookupOrderWalksPrefixes() throws {
        let key = try CredentialKey(serverURL: "registry.example.com/team/sub/app")
        #expect(
            key.lookupOrder.map(\.description) == [
                "registry.example.com/team/sub/app", "registry.example.com/team/sub", "registry.example.com/team",
                "registry.example.com",
            ])
        #expect(key.namespaces.map(\.description) == Array(key.lookupOrder.dropLast().map(\.description)))
    }

    @Test("a bare host looks up only itself and has no namespaces")
    func bareHostLookupOrder() throws {
        let key = try CredentialKey(serverURL: "quay.io")
        #expect(key.lookupOrder == [key])
        #expect(key.namespaces.isEmpty)
    }

    @Test("an image key walks from host/repository back to the host")
    func imageKeyLookupOrder() throws {
        let reference = try Reference.parse("Quay.IO/team/app:1.0")
        let key = CredentialKey.forImage(reference)
        #expect(key.description == "quay.io/team/app")
        #expect(key.lookupOrder.map(\.description) == ["quay.io/team/app", "quay.io/team", "quay.io"])
    }

    @Test("a reference maps to the registry host only, Docker Hub aliases to docker.io")
    func referenceKeyIsHostOnly() throws {
        #expect(CredentialKey(reference: try Reference.parse("ubuntu")).description == "docker.io")
        #expect(CredentialKey(reference: try Reference.parse("localhost:5000/a/b")).description == "localhost:5000")
        #expect(CredentialKey(reference: try Reference.parse("registry-1.docker.io/a/b")).isDockerHub)
        #expect(CredentialKey.forImage(try Reference.parse("ubuntu")).description == "docker.io/library/ubuntu")
    }

    @Test("Docker Hub keys are written as docker's v1 index URL, others as host[/path]")
    func dockerConfigKey() throws {
        #expect(try CredentialKey(serverURL: "docker.io").dockerConfigKey == "https://index.docker.io/v1/")
        #expect(try CredentialKey(serverURL: "https://index.docker.io/v1/").isDockerHub)
        #expect(try CredentialKey(serverURL: "docker.io/myorg").dockerConfigKey == "docker.io/myorg")
        #expect(try CredentialKey(serverURL: "https://quay.io/v1/").dockerConfigKey == "quay.io")
        #expect(try !CredentialKey(serverURL: "quay.io").isDockerHub)
    }

    @Test("every Docker Hub alias yields the same key")
    func dockerHubAliasesAreEqual() throws {
        let keys = try ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"].map {
            try CredentialKey(serverURL: $0)
        }
        #expect(Set(keys).count == 1)
    }
}
