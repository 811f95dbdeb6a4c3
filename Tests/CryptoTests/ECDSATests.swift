import Foundation
import Testing

@testable import Crypto

/// ECDSA P-256 over OpenSSL as cosign uses it: keys as `openssl` writes them, signatures that verify only with the
/// matching public key and only over the signed bytes; keys of another type, and encrypted ones, refused.
@Suite struct ECDSATests {
    static func openssl(_ arguments: [String], input: String = "") throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let (inPipe, outPipe) = (Pipe(), Pipe())
        process.standardInput = inPipe
        process.standardOutput = outPipe
        try process.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
        let output = outPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl \(arguments)")
        return String(decoding: output, as: UTF8.self)
    }

    @Test func aSignatureVerifiesWithItsPublicKeyOnlyAndOnlyOverItsMessage() throws {
        let pem = try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
        let pub = try Self.openssl(["pkey", "-pubout"], input: pem)
        let otherPub = try Self.openssl(
            ["pkey", "-pubout"],
            input: try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]))
        let signer = try ECDSAKey(privatePEM: pem)
        let message = Array(#"{"critical":{}}"#.utf8)
        let signature = try signer.sign(message)
        #expect(try ECDSAKey(publicPEM: pub).verify(signature, of: message))
        #expect(signer.verify(signature, of: message))
        #expect(!(try ECDSAKey(publicPEM: otherPub).verify(signature, of: message)))
        #expect(!(try ECDSAKey(publicPEM: pub).verify(signature, of: message + [0x20])))
        #expect(!(try ECDSAKey(publicPEM: pub).verify(Array(signature.dropLast()), of: message)))
        #expect(!(try ECDSAKey(publicPEM: pub).verify([], of: message)))
        // SEC 1 ("BEGIN EC PRIVATE KEY", openssl ec's default output) loads too.
        let sec1 = try Self.openssl(["ec"], input: pem)
        #expect(sec1.contains("BEGIN EC PRIVATE KEY"))
        #expect(try ECDSAKey(publicPEM: pub).verify(try ECDSAKey(privatePEM: sec1).sign(message), of: message))
    }

    @Test func otherKeyTypesAndEncryptedKeysAreRefused() throws {
        let rsa = try Self.openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
        #expect(throws: CryptoError.self) { try ECDSAKey(privatePEM: rsa) }
        #expect(throws: CryptoError.self) {
            try ECDSAKey(publicPEM: try Self.openssl(["pkey", "-pubout"], input: rsa))
        }
        let p384 = try Self.openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"])
        #expect(throws: CryptoError.self) { try ECDSAKey(privatePEM: p384) }
        #expect(throws: CryptoError.self) { try ECDSAKey(privatePEM: "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----") }
        #expect(throws: CryptoError.self) { try ECDSAKey(publicPEM: "not a key") }
    }
}
