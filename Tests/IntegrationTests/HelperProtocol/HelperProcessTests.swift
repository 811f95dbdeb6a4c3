import Foundation
import TestSupport
import Testing

/// The credential helper as podman, buildah and docker see it: the real built binary, started through the
/// `docker-credential-ocicred` link, bytes on stdin, bytes on stdout, an exit status — and a store on disk that
/// holds nothing readable and never changes when a command fails.
///
/// Expected bytes are what docker-credential-helpers (Go, `json.NewEncoder`) prints, so a client that works with
/// `pass` or `secretservice` works with ocicred unchanged.
@Suite("docker-credential-ocicred as a real process")
struct HelperProcessTests {
    static let notFound = "credentials not found in native keychain\n"
    static let noServerURL = "no credentials server URL\n"
    static let noUsername = "no credentials username\n"

    // MARK: - The protocol, byte for byte

    @Test func storeThenGetPrintsTheCredentialExactly() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        let stored = try helper(
            "store", home,
            #"{"ServerURL":"https://registry.example.com","Username":"alice","Secret":"s3cr3t-Value_1"}"#)
        #expect(stored.status == 0, "\(stored)")
        #expect(stored.stdout.isEmpty, "store prints nothing: \(stored)")

        let expected =
            #"{"ServerURL":"https://registry.example.com","Username":"alice","Secret":"s3cr3t-Value_1"}"#
            + "\n"
        let got = try helper("get", home, "https://registry.example.com")
        #expect(got.status == 0, "\(got)")
        #expect(got.stdoutText == expected)
        #expect(got.stdout == Data(expected.utf8))

        // docker pipes the URL without a newline, a shell `echo` adds one: the same answer either way.
        let echoed = try helper("get", home, "https://registry.example.com\n")
        #expect(echoed.status == 0, "\(echoed)")
        #expect(echoed.stdoutText == expected)
    }

    @Test func getEscapesAngleBracketsAndAmpersandsAsGoDoes() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        // Input may use any valid JSON spelling; output is Go's: <, >, & as \u003c, \u003e, \u0026.
        let stored = try helper(
            "store", home, #"{"ServerURL":"quay.example.org","Username":"<token>","Secret":"a&b>c<d\"e\\f"}"#)
        #expect(stored.status == 0, "\(stored)")

        let got = try helper("get", home, "quay.example.org")
        #expect(got.status == 0, "\(got)")
        let expected =
            #"{"ServerURL":"quay.example.org","Username":"\u003ctoken\u003e","#
            + #""Secret":"a\u0026b\u003ec\u003cd\"e\\f"}"# + "\n"
        #expect(got.stdoutText == expected)
        #expect(got.stdout.range(of: Data("<token>".utf8)) == nil, "raw < and > never reach stdout")
    }

    @Test func storeOverwritesAnExistingEntry() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        for (username, secret) in [("first", "old-secret"), ("second", "new-secret")] {
            let stored = try helper(
                "store", home, #"{"ServerURL":"ghcr.io","Username":"\#(username)","Secret":"\#(secret)"}"#)
            #expect(stored.status == 0, "\(stored)")
        }
        let got = try helper("get", home, "ghcr.io")
        #expect(got.stdoutText == #"{"ServerURL":"ghcr.io","Username":"second","Secret":"new-secret"}"# + "\n")
        let listed = try helper("list", home, "")
        #expect(listed.stdoutText == #"{"ghcr.io":"second"}"# + "\n")
    }

    @Test func listPrintsEveryServerAndUsernameSortedAsGoDoes() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        let empty = try helper("list", home, "")
        #expect(empty.status == 0, "\(empty)")
        #expect(empty.stdoutText == "{}\n")

        for (server, username) in [
            ("https://index.docker.io/v1/", "dockeruser"),
            ("registry.example.com:5000", "<bot>"),
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "AWS"),
        ] {
            let stored = try helper(
                "store", home, #"{"ServerURL":"\#(server)","Username":"\#(username)","Secret":"pw-\#(username)"}"#)
            #expect(stored.status == 0, "\(stored)")
        }
        let listed = try helper("list", home, "")
        #expect(listed.status == 0, "\(listed)")
        // Go marshals a map with its keys sorted; secrets never appear in a listing.
        #expect(
            listed.stdoutText
                == #"{"123456789012.dkr.ecr.us-east-1.amazonaws.com":"AWS","https://index.docker.io/v1/":"dockeruser","#
                + #""registry.example.com:5000":"\u003cbot\u003e"}"# + "\n")
        #expect(!listed.stdoutText.contains("pw-"))
    }

    @Test func eraseRemovesTheEntryAndPrintsNothing() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        for server in ["keep.example.com", "drop.example.com"] {
            let stored = try helper("store", home, #"{"ServerURL":"\#(server)","Username":"u","Secret":"s"}"#)
            #expect(stored.status == 0, "\(stored)")
        }
        let erased = try helper("erase", home, "drop.example.com")
        #expect(erased.status == 0, "\(erased)")
        #expect(erased.stdout.isEmpty, "erase prints nothing: \(erased)")

        let gone = try helper("get", home, "drop.example.com")
        #expect(gone.status == 1)
        #expect(gone.stdoutText == Self.notFound)
        let kept = try helper("get", home, "keep.example.com")
        #expect(kept.stdoutText == #"{"ServerURL":"keep.example.com","Username":"u","Secret":"s"}"# + "\n")
        let listed = try helper("list", home, "")
        #expect(listed.stdoutText == #"{"keep.example.com":"u"}"# + "\n")
        #expect(try entryFiles(home).count == 1, "the erased entry's file is gone")
    }

    /// podman reads any failing erase as an error, never as "not logged in" (docker-credential-helpers' client
    /// wraps the output, so containers/image's not-found check never matches it), and podman 4.3 overflows its
    /// stack on that error: erasing what is not there has to succeed, print nothing and write nothing.
    @Test func eraseOfWhatIsNotStoredSucceedsAndWritesNothing() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        let onNoStore = try helper("erase", home, "never.example.com")
        #expect(onNoStore.status == 0, "\(onNoStore)")
        #expect(onNoStore.stdout.isEmpty && onNoStore.stderr.isEmpty, "\(onNoStore)")
        let untouched = try snapshot(home)
        #expect(untouched.entries.allSatisfy { $0.kind == .missing }, "erase created \(untouched)")

        try populate(home)
        let before = try snapshot(home)
        for server in ["never.example.com", "https://never.example.com/v1/", "registry.example.org:5001"] {
            let erased = try helper("erase", home, server)
            #expect(erased.status == 0, "\(server): \(erased)")
            #expect(erased.stdout.isEmpty && erased.stderr.isEmpty, "\(server): \(erased)")
        }
        let after = try snapshot(home)
        #expect(after == before, "\(after.differences(from: before))")

        // Twice in a row, as a second `podman logout` does: the entry goes once, the second call is a no-op.
        for _ in 0..<2 {
            let erased = try helper("erase", home, "https://registry.example.com")
            #expect(erased.status == 0 && erased.stdout.isEmpty, "\(erased)")
        }
        #expect(try entryFiles(home).count == 1)
    }

    @Test func getOfAnUnknownServerSaysNotFound() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        let beforeAnyStore = try helper("get", home, "127.0.0.1:1")
        #expect(beforeAnyStore.status == 1)
        #expect(beforeAnyStore.stdoutText == Self.notFound)

        try populate(home)
        let got = try helper("get", home, "nobody-knows-this.example.net")
        #expect(got.status == 1)
        #expect(got.stdoutText == Self.notFound)
    }

    @Test func versionPrintsOneLineNamingTheHelper() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        let version = try helper("version", home, "")
        #expect(version.status == 0, "\(version)")
        let line = version.stdoutText
        #expect(line.hasPrefix("docker-credential-ocicred (ocicred) "), "got: \(line)")
        #expect(line.hasSuffix("\n") && line.filter { $0 == "\n" }.count == 1, "got: \(line)")
        let number = line.dropFirst("docker-credential-ocicred (ocicred) ".count).dropLast()
        #expect(!number.isEmpty && !number.contains(" "), "got: \(line)")

        for flag in ["--version", "-v"] {
            let flagged = try helper(flag, home, "")
            #expect(flagged.status == 0, "\(flag): \(flagged)")
            #expect(flagged.stdoutText == line, "\(flag) prints what `version` prints")
        }
    }

    @Test(arguments: ["--help", "-h"])
    func helpExitsZeroAndNamesTheActions(flag: String) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        let help = try helper(flag, home, "")
        #expect(help.status == 0, "\(help)")
        for action in ["store", "get", "erase", "list", "version"] {
            #expect(help.stdoutText.contains(action), "\(flag) mentions \(action): \(help)")
        }
    }

    @Test func emptyStdinForGetOrEraseAsksForAServerURL() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try populate(home)
        let before = try snapshot(home)

        for action in ["get", "erase"] {
            for stdin in ["", "\n", "  \n"] {
                let result = try helper(action, home, stdin)
                #expect(result.status == 1, "\(action) with \(stdin.debugDescription): \(result)")
                #expect(result.stdoutText == Self.noServerURL, "\(action) with \(stdin.debugDescription)")
            }
        }
        #expect(try snapshot(home) == before)
    }

    @Test func ocicredHelperSubcommandAnswersLikeTheLink() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try populate(home)

        let viaLink = try helper("get", home, "https://registry.example.com")
        let viaSubcommand = try OcicredBinary.run(
            ["helper", "get"], home: home.path, stdin: "https://registry.example.com")
        #expect(viaLink.status == 0, "\(viaLink)")
        #expect(viaSubcommand.status == 0, "\(viaSubcommand)")
        #expect(viaSubcommand.stdout == viaLink.stdout)

        let missing = try OcicredBinary.run(["helper", "get"], home: home.path, stdin: "unknown.example.net")
        #expect(missing.status == 1)
        #expect(missing.stdoutText == Self.notFound)
    }

    // MARK: - Bad input: a clear message, exit 1, nothing echoed, the store untouched

    /// A marker every bad input carries where a secret would be; it must never come back on stdout or stderr.
    static let planted = "PLANTED-SECRET-7f3a9c"

    struct BadInput: CustomTestStringConvertible, Sendable {
        let name: String
        let action: String
        let stdin: Data
        /// The whole of stdout, or (when `prefixOnly`) how it starts.
        let message: String
        var prefixOnly = false
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = {
        let planted = Self.planted
        var garbage = Data((0..<4096).map { _ in UInt8.random(in: 0...255) })
        garbage[0] = 0
        garbage[100] = 0
        garbage.replaceSubrange(2000..<(2000 + planted.utf8.count), with: Data(planted.utf8))
        garbage[4095] = 0
        var huge = Data(#"{"ServerURL":"big.example.com","Username":"u","Secret":"\#(planted)"#.utf8)
        huge.append(Data(repeating: UInt8(ascii: "A"), count: 1 << 20))
        huge.append(Data(#""}"#.utf8))
        let hugeURL = Data(repeating: UInt8(ascii: "h"), count: 1 << 20)
        return [
            BadInput(
                name: "malformed JSON", action: "store",
                stdin: Data(
                    #"{"ServerURL":"https://bad.example.com","Username":"mallory","Secret":"\#(planted)""#.utf8),
                message: "invalid credentials JSON", prefixOnly: true),
            BadInput(
                name: "JSON that is not an object", action: "store", stdin: Data(#"["\#(planted)"]"#.utf8),
                message: "invalid credentials JSON", prefixOnly: true),
            BadInput(
                name: "binary garbage with NUL bytes", action: "store", stdin: garbage,
                message: "invalid credentials JSON", prefixOnly: true),
            BadInput(
                name: "1 MiB of stdin to store", action: "store", stdin: huge, message: "input too large",
                prefixOnly: true),
            BadInput(
                name: "1 MiB of stdin to get", action: "get", stdin: hugeURL, message: "input too large",
                prefixOnly: true),
            BadInput(
                name: "unknown action", action: "frobnicate",
                stdin: Data(#"{"ServerURL":"x.example.com","Username":"u","Secret":"\#(planted)"}"#.utf8),
                message: "Unknown credential action `frobnicate`\n"),
            BadInput(
                name: "store without ServerURL", action: "store",
                stdin: Data(#"{"Username":"u","Secret":"\#(planted)"}"#.utf8), message: Self.noServerURL),
            BadInput(
                name: "store with an empty ServerURL", action: "store",
                stdin: Data(#"{"ServerURL":"","Username":"u","Secret":"\#(planted)"}"#.utf8),
                message: Self.noServerURL),
            BadInput(
                name: "store without Username", action: "store",
                stdin: Data(#"{"ServerURL":"https://registry.example.com","Secret":"\#(planted)"}"#.utf8),
                message: Self.noUsername),
        ]
    }()

    @Test(arguments: badInputs)
    func badInputIsRefusedAndLeavesTheStoreUntouched(_ input: BadInput) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try populate(home)
        let before = try snapshot(home)

        let result = try OcicredBinary.helper(input.action, home: home.path, stdin: input.stdin)

        #expect(result.status == 1, "\(input.name): \(result)")
        if input.prefixOnly {
            #expect(result.stdoutText.hasPrefix(input.message), "\(input.name): \(result)")
            #expect(result.stdoutText.hasSuffix("\n"), "\(input.name): message ends with a newline")
        } else {
            #expect(result.stdoutText == input.message, "\(input.name): \(result)")
        }
        #expect(result.stdout.count < 1024, "\(input.name): a message, not the input (\(result.stdout.count) bytes)")
        for (stream, bytes) in [("stdout", result.stdout), ("stderr", result.stderr)] {
            #expect(bytes.range(of: Data(Self.planted.utf8)) == nil, "\(input.name): \(stream) echoes the secret")
            #expect(bytes.range(of: Data("s3cr3t-populated".utf8)) == nil, "\(input.name): \(stream) leaks the store")
        }
        let after = try snapshot(home)
        #expect(
            after == before,
            "\(input.name) changed the store:\n\(after.differences(from: before).joined(separator: "\n"))")

        // And what was there still answers.
        let got = try helper("get", home, "https://registry.example.com")
        #expect(got.stdoutText.contains("s3cr3t-populated-1"), "\(input.name): existing entry still readable")
    }

    // MARK: - Many processes at once

    @Test func hundredParallelStoresThenGetsDuringMoreStores() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        func server(_ i: Int) -> String { "https://registry-\(String(format: "%03d", i)).example.com" }
        func username(_ i: Int) -> String { "user-\(i)" }
        func secret(_ i: Int) -> String { "secret-\(i)-\(String(repeating: "x", count: i % 7))&<\(i)>" }
        func storeJob(_ i: Int) -> (action: String, stdin: Data) {
            let body: [String: String] = ["ServerURL": server(i), "Username": username(i), "Secret": secret(i)]
            return ("store", try! JSONSerialization.data(withJSONObject: body))
        }

        // 1. A hundred stores for a hundred servers, released at the same instant.
        let stores = try runAtOnce((0..<100).map(storeJob), home: home)
        let failedStores = stores.enumerated().filter { $0.element.status != 0 || !$0.element.stdout.isEmpty }
        #expect(failedStores.isEmpty, "failed stores: \(failedStores.prefix(5).map { "#\($0.offset): \($0.element)" })")

        let listed = try helper("list", home, "")
        #expect(listed.status == 0, "\(listed)")
        let listing = try JSONSerialization.jsonObject(with: listed.stdout) as? [String: String] ?? [:]
        #expect(listing.count == 100, "list shows \(listing.count) of 100")
        for i in 0..<100 {
            #expect(listing[server(i)] == username(i), "list entry for \(server(i))")
        }
        #expect(try entryFiles(home).count == 100)

        // 2. Fifty gets of existing entries while fifty new servers are stored and fifty existing ones are
        //    rewritten with the same values: a reader must never see a half-written entry.
        var jobs: [(action: String, stdin: Data)] = []
        for k in 0..<50 {
            jobs.append(("get", Data(server(k).utf8)))
            jobs.append(storeJob(100 + k))
            jobs.append(storeJob(50 + k))
        }
        let mixed = try runAtOnce(jobs, home: home)
        var failures: [String] = []
        for (index, result) in mixed.enumerated() {
            let k = index / 3
            switch index % 3 {
            case 0:
                let expected = goJSON(server(k), username(k), secret(k))
                if result.status != 0 || result.stdout != Data(expected.utf8) {
                    failures.append("get \(server(k)): \(result)")
                }
            default:
                if result.status != 0 || !result.stdout.isEmpty {
                    failures.append("\(jobs[index].action) #\(index): \(result)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(5))")

        let relisted = try helper("list", home, "")
        let all = try JSONSerialization.jsonObject(with: relisted.stdout) as? [String: String] ?? [:]
        #expect(all.count == 150, "list shows \(all.count) of 150")
        for i in 0..<150 where all[server(i)] != username(i) {
            Issue.record("list entry for \(server(i)) is \(all[server(i)] ?? "missing")")
        }
        // Every entry reads back whole after the storm.
        for i in [0, 49, 50, 99, 100, 149] {
            let got = try helper("get", home, server(i))
            #expect(got.stdoutText == goJSON(server(i), username(i), secret(i)), "get \(server(i)): \(got)")
        }
        // No temporary files left behind by the atomic writes: the entries and at most the lock file.
        let store = try StoreSnapshot(of: [storeDirectory(home)])
        #expect(store.files.filter { isEntryFileName($0.name) }.count == 150)
        let others = store.files.filter { !isEntryFileName($0.name) }.map(\.name)
        #expect(others.count <= 1, "left behind in the store: \(others)")
    }

    // MARK: - The store at rest

    @Test func storedSecretIsNotReadableAtRestAndPermissionsArePrivate() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }

        let secret = "at-rest-\(UUID().uuidString)-secret"
        let stored = try helper(
            "store", home, #"{"ServerURL":"https://rest.example.com","Username":"rest-user","Secret":"\#(secret)"}"#)
        #expect(stored.status == 0, "\(stored)")

        let store = try StoreSnapshot(of: [storeDirectory(home)])
        #expect(store.entries.first?.kind == .directory, "store directory exists at \(storeDirectory(home))")
        #expect(store.files.contains { isEntryFileName($0.name) }, "an oci-creds-<16 hex> file: \(store)")
        for file in store.files {
            #expect(file.mode == 0o600, "\(file.path) is \(file.octalMode)")
        }
        for directory in store.directories {
            #expect(directory.mode == 0o700, "\(directory.path) is \(directory.octalMode)")
        }
        #expect(!store.entries.contains { $0.kind == .symlink || $0.kind == .other }, "\(store)")

        let everything = try snapshot(home)
        #expect(everything.files(containing: Data(secret.utf8)).isEmpty, "plaintext secret at rest")
        #expect(
            everything.files(containing: Data(secret.utf8).base64EncodedData()).isEmpty, "base64 secret at rest")
        let key = try StoreSnapshot(of: [keyFile(home)])
        #expect(key.entries.first?.kind == .file, "key file at \(keyFile(home))")
        #expect(key.entries.first?.mode == 0o600, "key file mode \(key.entries.first?.octalMode ?? "?")")

        let got = try helper("get", home, "https://rest.example.com")
        #expect(got.stdoutText.contains(secret))
    }

    @Test(arguments: ["middle", "last"])
    func tamperedEntryFailsNamingTheFileAndIsLeftAlone(byte position: String) throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try populate(home)
        let existing = Set(try entryFiles(home))
        let secret = "tamper-\(UUID().uuidString)"
        let stored = try helper(
            "store", home, #"{"ServerURL":"tamper.example.com","Username":"t","Secret":"\#(secret)"}"#)
        #expect(stored.status == 0, "\(stored)")

        let entry = try #require(try entryFiles(home).first { !existing.contains($0) }, "the new entry's file")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: entry))
        let index = position == "last" ? bytes.count - 1 : bytes.count / 2
        bytes[index] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: entry))
        let before = try snapshot(home)

        let got = try helper("get", home, "tamper.example.com")
        #expect(got.status == 1, "\(got)")
        #expect(got.stdoutText != Self.notFound, "a damaged entry is not a missing one")
        #expect(got.stdoutText.contains((entry as NSString).lastPathComponent), "message names the file: \(got)")
        #expect(!got.stdoutText.contains(secret) && !got.stderrText.contains(secret))
        #expect(try snapshot(home) == before, "the tampered file is left for inspection")

        // The other entries are unaffected.
        let other = try helper("get", home, "https://registry.example.com")
        #expect(other.status == 0, "\(other)")
    }

    @Test func wrongKeyFailsNamingTheFileAndChangesNothing() throws {
        let home = try TemporaryDirectory()
        defer { home.remove() }
        try populate(home)
        let entry = try #require(try entryFiles(home).first)

        // Another key in the same format as the real one (raw 32 bytes, or its text encoding).
        let realKey = try Data(contentsOf: URL(fileURLWithPath: keyFile(home)))
        let otherKeyBytes = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
        var otherKey = otherKeyBytes
        if realKey.count != 32 {
            let text = String(decoding: realKey, as: UTF8.self)
            let trailing = String(text.reversed().prefix { $0.isNewline }.reversed())
            if Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines))?.count == 32 {
                otherKey = Data((otherKeyBytes.base64EncodedString() + trailing).utf8)
            } else if text.trimmingCharacters(in: .whitespacesAndNewlines).count == 64 {
                otherKey = Data((otherKeyBytes.map { String(format: "%02x", $0) }.joined() + trailing).utf8)
            }
        }
        let otherKeyPath = home.file("other-key")
        #expect(
            FileManager.default.createFile(
                atPath: otherKeyPath, contents: otherKey, attributes: [.posixPermissions: 0o600]))
        let before = try StoreSnapshot(of: [storeDirectory(home), keyFile(home), otherKeyPath])

        let got = try OcicredBinary.helper(
            "get", home: home.path, stdin: Data("https://registry.example.com".utf8),
            extraEnvironment: ["OCICRED_KEY_FILE": otherKeyPath])
        #expect(got.status == 1, "\(got)")
        #expect(got.stdoutText != Self.notFound, "an undecryptable entry is not a missing one")
        let names = [(entry as NSString).lastPathComponent, otherKeyPath]
        #expect(names.contains { got.stdoutText.contains($0) }, "message names the entry or the key file: \(got)")
        #expect(!got.stdoutText.contains("s3cr3t-populated") && !got.stderrText.contains("s3cr3t-populated"))
        let after = try StoreSnapshot(of: [storeDirectory(home), keyFile(home), otherKeyPath])
        #expect(after == before, "\(after.differences(from: before))")

        // With the right key it still reads.
        let right = try helper("get", home, "https://registry.example.com")
        #expect(right.status == 0, "\(right)")
    }

    // MARK: - Helpers

    /// Runs the helper through the link with `stdin` as text.
    private func helper(_ action: String, _ home: TemporaryDirectory, _ stdin: String) throws -> ProcessResult {
        try OcicredBinary.helper(action, home: home.path, stdin: Data(stdin.utf8))
    }

    private func storeDirectory(_ home: TemporaryDirectory) -> String { home.path + "/.local/share/ocicred" }
    private func keyFile(_ home: TemporaryDirectory) -> String { home.path + "/.config/ocicred/key" }

    /// The store and the key's directory: everything a helper command may write.
    private func snapshot(_ home: TemporaryDirectory) throws -> StoreSnapshot {
        try StoreSnapshot(of: [storeDirectory(home), home.path + "/.config/ocicred"])
    }

    /// Two entries, so "unchanged" compares something.
    private func populate(_ home: TemporaryDirectory) throws {
        for (index, server) in ["https://registry.example.com", "registry.example.org:5000"].enumerated() {
            let result = try helper(
                "store", home, #"{"ServerURL":"\#(server)","Username":"pop","Secret":"s3cr3t-populated-\#(index + 1)"}"#
            )
            try #require(result.status == 0, "populating the store: \(result)")
        }
        try #require(try entryFiles(home).count == 2)
    }

    private func isEntryFileName(_ name: String) -> Bool {
        let hex = name.dropFirst("oci-creds-".count)
        return name.hasPrefix("oci-creds-") && hex.count == 16 && hex.allSatisfy { "0123456789abcdef".contains($0) }
    }

    private func entryFiles(_ home: TemporaryDirectory) throws -> [String] {
        try StoreSnapshot(of: [storeDirectory(home)]).files.filter { isEntryFileName($0.name) }.map(\.path)
    }

    /// The get line docker-credential-helpers prints for these values.
    private func goJSON(_ server: String, _ username: String, _ secret: String) -> String {
        #"{"ServerURL":"\#(goEscaped(server))","Username":"\#(goEscaped(username))","Secret":"\#(goEscaped(secret))"}"#
            + "\n"
    }

    private func goEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "<": out += "\\u003c"
            case ">": out += "\\u003e"
            case "&": out += "\\u0026"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

/// One finished child of `runAtOnce`.
struct BatchResult: CustomStringConvertible {
    let status: Int32
    let stdout: Data
    let stderr: Data
    var description: String {
        "exit \(status), stdout: \(String(decoding: stdout, as: UTF8.self)), stderr: \(String(decoding: stderr, as: UTF8.self))"
    }
}

/// Starts every job as its own `docker-credential-ocicred` process, all held behind one gate — `flock --shared`
/// on a file this test holds exclusively — then opens the gate, so they hit the store at the same instant rather
/// than one after another as they happen to be spawned. Stdin and outputs are files, so no pipe or thread pool
/// limits how many run at once.
func runAtOnce(_ jobs: [(action: String, stdin: Data)], home: TemporaryDirectory, timeout: Double = 300) throws
    -> [BatchResult]
{
    let flockPath = ProcessRunner.resolve("flock")
    try #require(ProcessRunner.isInstalled(flockPath), "flock(1) from util-linux is needed")
    let fileManager = FileManager.default
    let dir = home.path + "/batch-" + UUID().uuidString
    try fileManager.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let bin = home.path + "/bin"
    try fileManager.createDirectory(atPath: bin, withIntermediateDirectories: true)
    if !fileManager.fileExists(atPath: bin + "/docker-credential-ocicred") { try OcicredBinary.linkHelper(into: bin) }

    let gate = dir + "/gate"
    let gateDescriptor = open(gate, O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
    guard gateDescriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    var gateOpen = false
    defer { if !gateOpen { close(gateDescriptor) } }
    guard flock(gateDescriptor, LOCK_EX) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }

    var processes: [Process] = []
    var handles: [FileHandle] = []
    defer {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        for handle in handles { try? handle.close() }
    }
    let environment = OcicredBinary.environment(home: home.path)
    for (index, job) in jobs.enumerated() {
        let input = "\(dir)/\(index).in", output = "\(dir)/\(index).out", errors = "\(dir)/\(index).err"
        try job.stdin.write(to: URL(fileURLWithPath: input))
        _ = fileManager.createFile(atPath: output, contents: nil)
        _ = fileManager.createFile(atPath: errors, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: flockPath)
        process.arguments = ["--shared", gate, bin + "/docker-credential-ocicred", job.action]
        process.environment = environment
        let inHandle = try FileHandle(forReadingFrom: URL(fileURLWithPath: input))
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        handles += [inHandle, outHandle, errHandle]
        process.standardInput = inHandle
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        processes.append(process)
    }
    usleep(200_000)  // let the last ones reach the gate
    close(gateDescriptor)
    gateOpen = true

    let deadline = Date().addingTimeInterval(timeout)
    for process in processes {
        while process.isRunning {
            if Date() > deadline { throw ProcessRunnerError.timedOut(command: "runAtOnce", seconds: timeout) }
            usleep(5_000)
        }
    }
    return try jobs.indices.map { index in
        BatchResult(
            status: processes[index].terminationStatus,
            stdout: try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(index).out")),
            stderr: try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(index).err")))
    }
}
