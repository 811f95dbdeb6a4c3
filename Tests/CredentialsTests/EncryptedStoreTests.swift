import Credentials
import Foundation
import TestSupport
import Testing

@Suite("encrypted store")
struct EncryptedStoreTests {
    func withStore(_ body: (EncryptedStore, TemporaryDirectory) throws -> Void) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try body(EncryptedStore(directory: dir.file("store"), keyFile: dir.file("config/key")), dir)
    }

    func material(_ host: String, _ user: String, _ password: String) -> CredentialMaterial {
        .fromHelper(serverURL: host, username: user, secret: Secret(password))
    }

    @Test("store, read back, list and erase")
    func roundTrip() throws {
        try withStore { store, _ in
            let key = try CredentialKey(serverURL: "registry.example.com:5000")
            try store.store(material("registry.example.com:5000", "ci", "p:a:s:s"), for: key)
            let found = try #require(try store.material(for: key))
            #expect(found.material.staticCredential()?.secret.exposedValue == "p:a:s:s")
            #expect(try store.list().map(\.registry) == ["registry.example.com:5000"])
            #expect(try store.erase(key))
            #expect(try store.material(for: key) == nil)
            #expect(try store.erase(key) == false)
        }
    }

    @Test("erasing what was never stored creates no store directory, lock or key")
    func eraseMissingWritesNothing() throws {
        try withStore { store, dir in
            let key = try CredentialKey(serverURL: "never.example.com")
            #expect(try store.erase(key) == false)
            #expect(try store.eraseAll() == 0)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        }
    }

    @Test("eraseAll removes every entry, even with the key lost, and keeps the store directory")
    func eraseAll() throws {
        try withStore { store, dir in
            for host in ["a.example.com", "b.example.com:5000", "docker.io"] {
                try store.store(material(host, "u", "s"), for: try CredentialKey(serverURL: host))
            }
            try FileManager.default.removeItem(atPath: dir.file("config/key"))
            #expect(try store.eraseAll() == 3)
            #expect(try store.list().isEmpty)
            let left = try FileManager.default.contentsOfDirectory(atPath: store.directory)
            #expect(left.allSatisfy { !$0.hasPrefix("oci-creds-") }, "\(left)")
            #expect(try store.eraseAll() == 0)
        }
    }

    @Test("the key file and every store file are private, and no file holds the secret in clear")
    func atRest() throws {
        try withStore { store, dir in
            let key = try CredentialKey(serverURL: "registry.example.com")
            try store.store(material("registry.example.com", "ci", "clear-text-canary-42"), for: key)
            for path in [dir.file("config/key")]
                + (try FileManager.default.contentsOfDirectory(atPath: store.directory))
                .map({ store.directory + "/" + $0 })
            {
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(path)")
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                #expect(bytes.range(of: Data("clear-text-canary-42".utf8)) == nil, "\(path)")
            }
            let dirMode = try FileManager.default.attributesOfItem(atPath: store.directory)[.posixPermissions] as? Int
            #expect(dirMode == 0o700)
        }
    }

    @Test("a store read with the wrong key names the file and is not treated as empty")
    func wrongKey() throws {
        try withStore { store, dir in
            let key = try CredentialKey(serverURL: "registry.example.com")
            try store.store(material("registry.example.com", "ci", "secret"), for: key)
            let otherKey = dir.file("other-key")
            try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: otherKey))
            chmod(otherKey, 0o600)
            let other = EncryptedStore(directory: store.directory, keyFile: otherKey)
            let entry = try FileManager.default.contentsOfDirectory(atPath: store.directory).first {
                $0.hasPrefix("oci-creds-")
            }!
            let before = try Data(contentsOf: URL(fileURLWithPath: store.directory + "/" + entry))
            #expect(throws: CredentialError.storeUndecryptable(path: store.directory + "/" + entry, keyFile: otherKey))
            {
                try other.material(for: key)
            }
            #expect(throws: CredentialError.storeUndecryptable(path: store.directory + "/" + entry, keyFile: otherKey))
            {
                try other.list()
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: store.directory + "/" + entry)) == before)
        }
    }

    @Test("a tampered or truncated file is an error naming it", arguments: ["flip", "truncate", "header"])
    func damaged(kind: String) throws {
        try withStore { store, _ in
            let key = try CredentialKey(serverURL: "registry.example.com")
            try store.store(material("registry.example.com", "ci", "secret"), for: key)
            let entry = try FileManager.default.contentsOfDirectory(atPath: store.directory).first {
                $0.hasPrefix("oci-creds-")
            }!
            let path = store.directory + "/" + entry
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            switch kind {
            case "flip": bytes[bytes.count - 20] ^= 1
            case "truncate": bytes = bytes.prefix(bytes.count / 2)
            default: bytes[0] = UInt8(ascii: "X")
            }
            try bytes.write(to: URL(fileURLWithPath: path))
            do throws(CredentialError) {
                _ = try store.material(for: key)
                Issue.record("damaged file was accepted")
            } catch {
                #expect(error.description.contains(path))
                #expect(error != .notFound(host: "registry.example.com"))
            }
        }
    }

    @Test("a file moved onto another registry's name does not answer for it")
    func swappedFiles() throws {
        try withStore { store, _ in
            let a = try CredentialKey(serverURL: "a.example"), b = try CredentialKey(serverURL: "b.example")
            try store.store(material("a.example", "ua", "pa"), for: a)
            try store.store(material("b.example", "ub", "pb"), for: b)
            let pathA = store.directory + "/" + SecretName.forRegistry("a.example")
            let pathB = store.directory + "/" + SecretName.forRegistry("b.example")
            try FileManager.default.removeItem(atPath: pathB)
            try FileManager.default.copyItem(atPath: pathA, toPath: pathB)
            #expect(throws: CredentialError.self) { try store.material(for: b) }
        }
    }

    @Test("entries exist but the key file is gone: a clear error, not not-found")
    func keyMissing() throws {
        try withStore { store, dir in
            let key = try CredentialKey(serverURL: "registry.example.com")
            try store.store(material("registry.example.com", "ci", "secret"), for: key)
            try FileManager.default.removeItem(atPath: dir.file("config/key"))
            #expect(throws: CredentialError.keyMissing(path: store.keyFile, storePath: store.directory)) {
                try store.material(for: key)
            }
        }
    }

    @Test(
        "a key given as 32 raw bytes, base64 or hex is accepted; anything else is refused",
        arguments: [
            ("raw", true), ("base64", true), ("hex", true), ("short", false),
        ])
    func keyFormats(format: String, valid: Bool) throws {
        try withStore { _, dir in
            let raw = Data((0..<32).map { UInt8($0 * 3) })
            let content: Data
            switch format {
            case "raw": content = raw
            case "base64": content = Data((raw.base64EncodedString() + "\n").utf8)
            case "hex": content = Data(raw.map { String(format: "%02x", $0) }.joined().utf8)
            default: content = Data("tooshort".utf8)
            }
            let keyPath = dir.file("k")
            try content.write(to: URL(fileURLWithPath: keyPath))
            chmod(keyPath, 0o600)
            let store = EncryptedStore(directory: dir.file("s"), keyFile: keyPath)
            let key = try CredentialKey(serverURL: "r.example")
            if valid {
                try store.store(material("r.example", "u", "p"), for: key)
                #expect(try store.material(for: key)?.material.staticCredential()?.secret.exposedValue == "p")
                // Every accepted spelling is the same key: a raw-key store opens with the base64 file.
                let rawPath = dir.file("k-raw")
                try raw.write(to: URL(fileURLWithPath: rawPath))
                chmod(rawPath, 0o600)
                let sameKey = EncryptedStore(directory: dir.file("s"), keyFile: rawPath)
                #expect(try sameKey.material(for: key)?.material.staticCredential()?.username == "u")
            } else {
                #expect(throws: CredentialError.keyInvalid(path: keyPath)) {
                    try store.store(material("r.example", "u", "p"), for: key)
                }
            }
        }
    }

    @Test("concurrent writers in one process never lose an entry")
    func concurrentStores() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = EncryptedStore(directory: dir.file("store"), keyFile: dir.file("key"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask {
                    let host = "r\(index).example"
                    try store.store(
                        .fromHelper(serverURL: host, username: "u\(index)", secret: Secret("p\(index)")),
                        for: try CredentialKey(serverURL: host))
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.list().count == 40)
    }
}
