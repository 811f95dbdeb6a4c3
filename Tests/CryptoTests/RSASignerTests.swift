import Crypto
import Foundation
import Testing

/// RS256 signatures checked by an independent implementation: keys come from the `openssl` CLI and every
/// signature is verified with `openssl dgst -sha256 -verify` against the public half.
@Suite("RS256 signing")
struct RSASignerTests {
    /// A private temp dir with openssl-generated keys; removed by `remove()`.
    struct Keys {
        let directory: String
        var pkcs8: String { directory + "/pkcs8.pem" }
        var pkcs1: String { directory + "/pkcs1.pem" }
        var publicKey: String { directory + "/pub.pem" }
        var pkcs1Public: String { directory + "/pub1.pem" }
        var ec: String { directory + "/ec.pem" }
        var encrypted: String { directory + "/encrypted.pem" }

        init() throws {
            directory = NSTemporaryDirectory() + "/ocicred-rsa-" + UUID().uuidString
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pkcs8])
            try openssl(["pkey", "-in", pkcs8, "-pubout", "-out", publicKey])
            try openssl(["genrsa", "-traditional", "-out", pkcs1, "2048"])
            try openssl(["rsa", "-in", pkcs1, "-pubout", "-out", pkcs1Public])
            try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec])
            // The passphrase reaches openssl through a file, not argv.
            try "hunter2\n".write(toFile: directory + "/pass", atomically: true, encoding: .utf8)
            try openssl(["pkey", "-in", pkcs8, "-aes256", "-passout", "file:" + directory + "/pass", "-out", encrypted])
        }

        func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }
        func remove() { try? FileManager.default.removeItem(atPath: directory) }

        /// Whether `openssl dgst -sha256 -verify` accepts `signature` over `message` with `publicKeyPath`.
        func verifies(_ message: [UInt8], _ signature: [UInt8], publicKeyPath: String) throws -> Bool {
            let messagePath = directory + "/msg-" + UUID().uuidString
            let signaturePath = messagePath + ".sig"
            try Data(message).write(to: URL(fileURLWithPath: messagePath))
            try Data(signature).write(to: URL(fileURLWithPath: signaturePath))
            let status = try Keys.run(
                ["dgst", "-sha256", "-verify", publicKeyPath, "-signature", signaturePath, messagePath])
            return status == 0
        }

        private func openssl(_ arguments: [String]) throws {
            let status = try Keys.run(arguments)
            if status != 0 { throw CocoaError(.fileWriteUnknown) }
        }

        static func run(_ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test("a PKCS#8 key signs what openssl verifies with its public key")
    func pkcs8SignatureVerifies() throws {
        let keys = try Keys()
        defer { keys.remove() }
        let signer = try RSASigner(pem: keys.read(keys.pkcs8))
        #expect(signer.bits == 2048)
        for message in ["", "a", String(repeating: "header.claims", count: 500)] {
            let signature = try signer.sign(Array(message.utf8))
            #expect(signature.count == 256)
            #expect(try keys.verifies(Array(message.utf8), signature, publicKeyPath: keys.publicKey))
        }
    }

    @Test("a PKCS#1 (BEGIN RSA PRIVATE KEY) key signs what openssl verifies")
    func pkcs1SignatureVerifies() throws {
        let keys = try Keys()
        defer { keys.remove() }
        let pem = try keys.read(keys.pkcs1)
        #expect(pem.contains("BEGIN RSA PRIVATE KEY"))
        let message = Array("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0".utf8)
        let signature = try RSASigner(pem: pem).sign(message)
        #expect(try keys.verifies(message, signature, publicKeyPath: keys.pkcs1Public))
    }

    @Test("a signature does not verify under another key or for another message")
    func wrongKeyOrMessageFails() throws {
        let keys = try Keys()
        defer { keys.remove() }
        let message = Array("payload".utf8)
        let signature = try RSASigner(pem: keys.read(keys.pkcs8)).sign(message)
        #expect(try !keys.verifies(message, signature, publicKeyPath: keys.pkcs1Public))
        #expect(try !keys.verifies(Array("payloaD".utf8), signature, publicKeyPath: keys.publicKey))
    }

    @Test("a JWT's signature covers header.claims and verifies with openssl")
    func jwtVerifies() throws {
        let keys = try Keys()
        defer { keys.remove() }
        let signer = try RSASigner(pem: keys.read(keys.pkcs8))
        let header = Array(#"{"alg":"RS256","typ":"JWT"}"#.utf8)
        let claims = Array(#"{"iss":"a@b.iam.gserviceaccount.com","exp":1700000000,"x":"??>>"}"#.utf8)
        let token = try JWT.sign(headerJSON: header, claimsJSON: claims, signer: signer)
        let parts = token.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        #expect(!token.contains("=") && !token.contains("+") && !token.contains("/"))
        #expect(JWT.unverifiedClaims(token) == claims)
        let signature = try #require(Base64.decode(parts[2]))
        #expect(try keys.verifies(Array((parts[0] + "." + parts[1]).utf8), signature, publicKeyPath: keys.publicKey))
    }

    @Test("an EC key, an encrypted key and garbage are errors that hold no key material")
    func unusableKeysFail() throws {
        let keys = try Keys()
        defer { keys.remove() }
        for (path, label) in [(keys.ec, "EC"), (keys.encrypted, "encrypted")] {
            let pem = try keys.read(path)
            let body = pem.split(separator: "\n").dropFirst().first.map(String.init) ?? "?"
            do {
                _ = try RSASigner(pem: pem)
                Issue.record("\(label) key was accepted")
            } catch {
                #expect(!error.description.contains(body), "\(label): message leaks key material")
            }
        }
        #expect(throws: CryptoError.self) {
            try RSASigner(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        }
        #expect(throws: CryptoError.self) { try RSASigner(pem: "") }
    }

    @Test("base64url has no padding and uses - and _")
    func base64URL() {
        #expect(JWT.base64URL([0xfb, 0xff]) == "-_8")
        #expect(JWT.base64URL(Array("ab".utf8)) == "YWI")
        #expect(JWT.unverifiedClaims("not-a-jwt") == nil)
    }
}
