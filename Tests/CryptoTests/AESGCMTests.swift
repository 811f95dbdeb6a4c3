import Crypto
import Testing

@Suite("AES-256-GCM")
struct AESGCMTests {
    let key = (0..<32).map { UInt8($0) }

    @Test("a sealed box opens to the same plaintext")
    func roundTrip() throws {
        let cipher = try AESGCM(key: key)
        for size in [0, 1, 15, 16, 17, 1000] {
            let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 * 7) }
            let sealed = try cipher.seal(plaintext, associatedData: Array("header".utf8))
            #expect(sealed.count == size + AESGCM.nonceByteCount + AESGCM.tagByteCount)
            #expect(try cipher.open(sealed, associatedData: Array("header".utf8)) == plaintext)
        }
    }

    @Test("two seals of the same plaintext differ (fresh nonce each time)")
    func freshNonce() throws {
        let cipher = try AESGCM(key: key)
        #expect(try cipher.seal([1, 2, 3]) != cipher.seal([1, 2, 3]))
    }

    @Test("the wrong key is an authentication failure")
    func wrongKey() throws {
        let sealed = try AESGCM(key: key).seal(Array("secret".utf8))
        var other = key
        other[0] ^= 1
        #expect(throws: CryptoError.authenticationFailed) { try AESGCM(key: other).open(sealed) }
    }

    @Test("any flipped bit in the box is an authentication failure", arguments: [0, 11, 12, 20, 33])
    func tampered(index: Int) throws {
        let cipher = try AESGCM(key: key)
        var sealed = try cipher.seal(Array("a secret of some length".utf8))
        sealed[index] ^= 0x40
        #expect(throws: CryptoError.authenticationFailed) { try cipher.open(sealed) }
    }

    @Test("different associated data is an authentication failure")
    func associatedData() throws {
        let cipher = try AESGCM(key: key)
        let sealed = try cipher.seal([9, 9, 9], associatedData: [1])
        #expect(throws: CryptoError.authenticationFailed) { try cipher.open(sealed, associatedData: [2]) }
    }

    @Test("a truncated box is a length error, not a crash")
    func truncated() throws {
        let cipher = try AESGCM(key: key)
        #expect(throws: CryptoError.invalidLength(what: "sealed box", expected: 28, actual: 10)) {
            try cipher.open(Array(repeating: 0, count: 10))
        }
    }

    /// The GCM specification's test case 16 (McGrew & Viega, AES-256 with associated data): boxes sealed by
    /// any correct AES-256-GCM — including the EVP code that wrote stores before — open.
    @Test("the GCM specification's AES-256 test case 16 opens and its tag is checked")
    func knownAnswer() throws {
        let key = hexBytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
        let nonce = hexBytes("cafebabefacedbaddecaf888")
        let plaintext = hexBytes(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                + "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
        let associatedData = hexBytes("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let ciphertext = hexBytes(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                + "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662")
        let tag = hexBytes("76fc6ece0f4e1768cddf8853bb2d551b")
        let cipher = try AESGCM(key: key)
        #expect(try cipher.open(nonce + ciphertext + tag, associatedData: associatedData) == plaintext)
        var badTag = tag
        badTag[15] ^= 1
        #expect(throws: CryptoError.authenticationFailed) {
            try cipher.open(nonce + ciphertext + badTag, associatedData: associatedData)
        }
        // Sealing draws its own nonce, so its bytes cannot be compared with the vector; it must round-trip.
        let sealed = try cipher.seal(plaintext, associatedData: associatedData)
        #expect(try cipher.open(sealed, associatedData: associatedData) == plaintext)
    }

    private func hexBytes(_ hex: String) -> [UInt8] {
        var bytes = [UInt8]()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    @Test("a key that is not 32 bytes is refused")
    func badKey() {
        #expect(throws: CryptoError.invalidLength(what: "AES-256 key", expected: 32, actual: 16)) {
            try AESGCM(key: Array(repeating: 0, count: 16))
        }
    }
}

@Suite("digests and encodings")
struct DigestTests {
    @Test("SHA-256 matches the FIPS 180-2 test vectors")
    func sha256Vectors() {
        #expect(SHA256.hexDigest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hexDigest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2")
    func hmacVector() {
        let mac = HMACSHA256.authenticate(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test(
        "base64 round-trips and matches RFC 4648 vectors",
        arguments: [
            ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ])
    func base64(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("base64 rejects characters outside the alphabet")
    func base64Garbage() {
        #expect(Base64.decode("ab$d") == nil)
    }

    @Test("random bytes are random")
    func randomBytes() throws {
        #expect(try SecureRandom.bytes(32) != SecureRandom.bytes(32))
    }
}
