import Credentials
import Foundation
import Logging
import SystemSupport
import TestSupport
import Testing

@testable import Helper

/// The protocol as a function: every message byte for byte, against a real store in a temp directory.
@Suite("credential-helper protocol")
struct HelperProtocolTests {
    func withHelper(_ body: (HelperProtocol, TemporaryDirectory) async throws -> Void) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let env = OcicredEnvironment(["HOME": dir.path])
        try await body(
            HelperProtocol(
                resolver: Resolver(environment: env, logger: Logger(label: "t")), logger: Logger(label: "t")), dir)
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("store then get answers the exact JSON line docker expects")
    func storeGet() async throws {
        try await withHelper { helper, _ in
            let stored = helper.handle(
                action: "store", input: bytes(#"{"ServerURL":"127.0.0.1:5000","Username":"ci","Secret":"p:w\"d"}"#))
            #expect(stored == .init(stdout: "", status: 0))
            let got = helper.handle(action: "get", input: bytes("127.0.0.1:5000\n"))
            #expect(
                got
                    == .init(
                        stdout: #"{"ServerURL":"127.0.0.1:5000","Username":"ci","Secret":"p:w\"d"}"# + "\n", status: 0))
        }
    }

    @Test("an identity token is stored and returned with the <token> username, escaped as Go does")
    func identityToken() async throws {
        try await withHelper { helper, _ in
            _ = helper.handle(
                action: "store", input: bytes(#"{"ServerURL":"r.example","Username":"<token>","Secret":"a&b"}"#))
            let got = helper.handle(action: "get", input: bytes("r.example"))
            #expect(
                got.stdout == #"{"ServerURL":"r.example","Username":"\u003ctoken\u003e","Secret":"a\u0026b"}"# + "\n")
        }
    }

    @Test("get for an unknown host is docker's not-found text")
    func notFound() async throws {
        try await withHelper { helper, _ in
            #expect(
                helper.handle(action: "get", input: bytes("nobody.example"))
                    == .init(stdout: "credentials not found in native keychain\n", status: 1))
        }
    }

    @Test(
        "empty input and missing fields give docker's messages",
        arguments: [
            ("get", "", "no credentials server URL\n"),
            ("get", "  \n", "no credentials server URL\n"),
            ("erase", "", "no credentials server URL\n"),
            ("store", #"{"Username":"u","Secret":"s"}"#, "no credentials server URL\n"),
            ("store", #"{"ServerURL":"r.example","Secret":"s"}"#, "no credentials username\n"),
            ("store", #"{"ServerURL":"","Username":"u"}"#, "no credentials server URL\n"),
        ])
    func missing(action: String, input: String, message: String) async throws {
        try await withHelper { helper, _ in
            #expect(helper.handle(action: action, input: bytes(input)) == .init(stdout: message, status: 1))
        }
    }

    @Test(
        "unknown actions, oversize and malformed input are clear errors",
        arguments: [
            ("frobnicate", Optional("x"), "Unknown credential action `frobnicate`\n"),
            ("store", nil, "input too large: credential helper input is limited to 65536 bytes\n"),
            ("get", nil, "input too large: credential helper input is limited to 65536 bytes\n"),
            (
                "store", "{oops",
                "invalid credentials JSON on stdin: expected an object {\"ServerURL\":…,\"Username\":…,\"Secret\":…}\n"
            ),
            (
                "store", "[1,2]",
                "invalid credentials JSON on stdin: expected an object {\"ServerURL\":…,\"Username\":…,\"Secret\":…}\n"
            ),
            (
                "store", #"{"ServerURL":5,"Username":"u"}"#,
                "invalid credentials JSON on stdin: field ServerURL must be a string\n"
            ),
        ] as [(String, String?, String)])
    func badInput(action: String, input: String?, message: String) async throws {
        try await withHelper { helper, _ in
            #expect(helper.handle(action: action, input: input.map(bytes)) == .init(stdout: message, status: 1))
        }
    }

    @Test("field names match case-insensitively, as Go's decoder does")
    func caseInsensitive() async throws {
        try await withHelper { helper, _ in
            #expect(
                helper.handle(action: "store", input: bytes(#"{"serverurl":"r.example","username":"u","secret":"s"}"#))
                    .status == 0)
            #expect(helper.handle(action: "get", input: bytes("r.example")).stdout.contains(#""Username":"u""#))
        }
    }

    @Test("list maps each server URL as stored to its username, keys sorted")
    func list() async throws {
        try await withHelper { helper, _ in
            #expect(helper.handle(action: "list", input: []) == .init(stdout: "{}\n", status: 0))
            for (url, user) in [
                ("https://index.docker.io/v1/", "hub"), ("127.0.0.1:5000", "local"), ("b.example", "<token>"),
            ] {
                _ = helper.handle(
                    action: "store", input: bytes(#"{"ServerURL":"\#(url)","Username":"\#(user)","Secret":"s"}"#))
            }
            #expect(
                helper.handle(action: "list", input: []).stdout
                    == #"{"127.0.0.1:5000":"local","b.example":"\u003ctoken\u003e","https://index.docker.io/v1/":"hub"}"#
                    + "\n")
        }
    }

    @Test("erase removes; erasing again succeeds silently, as secretservice's erase does")
    func erase() async throws {
        try await withHelper { helper, _ in
            _ = helper.handle(action: "store", input: bytes(#"{"ServerURL":"r.example","Username":"u","Secret":"s"}"#))
            _ = helper.handle(
                action: "store", input: bytes(#"{"ServerURL":"kept.example","Username":"k","Secret":"s"}"#))
            #expect(helper.handle(action: "erase", input: bytes("r.example\n")) == .init(stdout: "", status: 0))
            #expect(helper.handle(action: "get", input: bytes("r.example")).status == 1)
            // podman reads any failure of erase as an error (podman 4.3 overflows its stack on it), never as
            // "not logged in": a second `podman logout` must find a helper that says nothing went wrong.
            #expect(helper.handle(action: "erase", input: bytes("r.example")) == .init(stdout: "", status: 0))
            #expect(helper.handle(action: "list", input: []).stdout == #"{"kept.example":"k"}"# + "\n")
        }
    }

    @Test("erase of what was never stored succeeds and creates no store, key or lock")
    func eraseNeverStored() async throws {
        try await withHelper { helper, dir in
            #expect(helper.handle(action: "erase", input: bytes("nobody.example")) == .init(stdout: "", status: 0))
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/.local/share/ocicred"))
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/.config/ocicred/key"))
        }
    }

    @Test("Docker Hub aliases share one entry")
    func dockerHubAliases() async throws {
        try await withHelper { helper, _ in
            _ = helper.handle(
                action: "store",
                input: bytes(#"{"ServerURL":"https://index.docker.io/v1/","Username":"hub","Secret":"s"}"#))
            for alias in ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"] {
                let got = helper.handle(action: "get", input: bytes(alias))
                #expect(got.status == 0, "\(alias)")
                #expect(got.stdout == #"{"ServerURL":"\#(alias)","Username":"hub","Secret":"s"}"# + "\n")
            }
        }
    }

    @Test("version prints name, package and version")
    func version() async throws {
        try await withHelper { helper, _ in
            #expect(
                helper.handle(action: "version", input: [])
                    == .init(stdout: "docker-credential-ocicred (ocicred) \(HelperProtocol.version)\n", status: 0))
        }
    }

    @Test("a secret never appears in an error message")
    func noSecretInErrors() async throws {
        try await withHelper { helper, dir in
            _ = helper.handle(
                action: "store", input: bytes(#"{"ServerURL":"r.example","Username":"u","Secret":"canary-secret-9"}"#))
            // Damage the entry: the error names the file and never the secret.
            let store = dir.path + "/.local/share/ocicred"
            let entry = try FileManager.default.contentsOfDirectory(atPath: store).first { $0.hasPrefix("oci-creds-") }!
            var data = try Data(contentsOf: URL(fileURLWithPath: store + "/" + entry))
            data[data.count - 1] ^= 1
            try data.write(to: URL(fileURLWithPath: store + "/" + entry))
            let got = helper.handle(action: "get", input: bytes("r.example"))
            #expect(got.status == 1)
            #expect(got.stdout.contains(entry))
            #expect(!got.stdout.contains("canary-secret-9"))
            #expect(!got.stdout.contains("not found"))
        }
    }

    @Test(
        "Go's JSON string escaping",
        arguments: [
            ("plain", "\"plain\""), ("<>&", "\"\\u003c\\u003e\\u0026\""), ("a\"b\\c", "\"a\\\"b\\\\c\""),
            ("line\nbreak\ttab\r", "\"line\\nbreak\\ttab\\r\""), ("\u{01}\u{1f}", "\"\\u0001\\u001f\""),
            ("\u{2028}\u{2029}", "\"\\u2028\\u2029\""), ("é✓", "\"é✓\""),
            // Neighbours of U+2028/U+2029 share their first UTF-8 bytes but are not escaped.
            ("x\u{2027}\u{202A}€\u{2028}", "\"x\u{2027}\u{202A}€\\u2028\""),
        ])
    func goEscaping(input: String, expected: String) {
        #expect(GoJSON.string(input) == expected)
    }
}
