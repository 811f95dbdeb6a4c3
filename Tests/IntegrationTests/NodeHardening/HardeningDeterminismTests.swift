import Foundation
import TestSupport
import Testing

/// The same input gives the same answer in every process, through the built binary: inputs that several keys
/// could answer are decided by position, as Go's encoding/json (docker-credential-helpers) and containers/image
/// decide them, never by a dictionary's per-process order.
@Suite("the same input gives the same answer, through the binary")
struct HardeningDeterminismTests {
    static let runs = 20

    /// (store request, the secret docker-credential-helpers would store: the last key naming the field wins)
    static let storeRequests: [(String, String)] = [
        (#"{"ServerURL":"dup.example.com","Username":"u","Secret":"A","secret":"B"}"#, "B"),
        (#"{"ServerURL":"dup.example.com","Username":"u","secret":"B","Secret":"A"}"#, "A"),
        (#"{"ServerURL":"dup.example.com","Username":"u","SECRET":"A","Secret":"B","sEcReT":"C"}"#, "C"),
        (#"{"ServerURL":"dup.example.com","Username":"u","Secret":"A","Secret":"B"}"#, "B"),
        (#"{"ServerURL":"dup.example.com","Username":"u","Secret":"A","\u017fecret":"B"}"#, "B"),
    ]

    @Test(
        "a store request with keys that name the same field stores the last one, every time",
        arguments: storeRequests)
    func duplicateStoreKeysAreDecidedByPosition(request: String, expected: String) throws {
        var answers = Set<String>()
        for _ in 0..<Self.runs {
            let home = try TemporaryDirectory()
            defer { home.remove() }
            let stored = try OcicredBinary.helper("store", home: home.path, stdin: Data(request.utf8))
            try #require(stored.status == 0, "\(stored)")
            let got = try OcicredBinary.helper("get", home: home.path, stdin: Data("dup.example.com".utf8))
            try #require(got.status == 0, "\(got)")
            let object = try JSONSerialization.jsonObject(with: got.stdout) as? [String: String]
            answers.insert(object?["Secret"] ?? "?")
        }
        #expect(answers == [expected], "\(Self.runs) processes stored \(answers.sorted())")
    }

    /// (auth file, the registry asked for, the username that must answer)
    static let authFiles: [(String, String, String)] = [
        // The exact spelling wins, wherever it stands in the file.
        (
            #"{"auths":{"https://index.docker.io/v1/":{"auth":"\#(b64("legacy:x"))"},"docker.io":{"auth":"\#(b64("exact:x"))"}}}"#,
            "docker.io", "exact"
        ),
        (
            #"{"auths":{"docker.io":{"auth":"\#(b64("exact:x"))"},"https://index.docker.io/v1/":{"auth":"\#(b64("legacy:x"))"}}}"#,
            "docker.io", "exact"
        ),
        // Without it, the first key (in the file's order) that normalises to the registry.
        (
            #"{"auths":{"https://quay.example.com/v1/":{"auth":"\#(b64("first:x"))"},"http://quay.example.com":{"auth":"\#(b64("second:x"))"}}}"#,
            "quay.example.com", "first"
        ),
        (
            #"{"auths":{"http://quay.example.com":{"auth":"\#(b64("second:x"))"},"https://quay.example.com/v1/":{"auth":"\#(b64("first:x"))"}}}"#,
            "quay.example.com", "second"
        ),
    ]

    @Test("auth-file keys that normalise to one registry give one answer, by position", arguments: authFiles)
    func normalisingAuthKeysAreDecidedByPosition(file: String, registry: String, expected: String) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try file.write(toFile: home.file("auth.json"), atomically: true, encoding: .utf8)
        var answers = Set<String>()
        for _ in 0..<Self.runs {
            let got = try OcicredBinary.helper(
                "get", home: home.path, stdin: Data(registry.utf8),
                extraEnvironment: ["REGISTRY_AUTH_FILE": home.file("auth.json")])
            try #require(got.status == 0, "\(got)")
            let object = try JSONSerialization.jsonObject(with: got.stdout) as? [String: String]
            answers.insert(object?["Username"] ?? "?")
        }
        #expect(answers == [expected], "\(Self.runs) processes answered \(answers.sorted())")
    }

    static func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}
