import Crypto
import Testing

/// The streaming hasher agrees with the one-shot digest however the input is cut, and with the FIPS 180-2 vector.
struct SHA256HasherTests {
    @Test func knownVector() {
        let hasher = SHA256Hasher()
        hasher.update(Array("ab".utf8))
        hasher.update(Array("c".utf8))
        #expect(
            hasher.finishDigest() == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(arguments: [1, 7, 64, 4096, 100_000])
    func anySplitGivesTheOneShotDigest(piece: Int) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<250_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hasher = SHA256Hasher()
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + piece)
            hasher.update(Array(bytes[start..<end]))
            start = end
        }
        #expect(hasher.finish() == SHA256.hash(bytes))
    }

    @Test func nothingFedIsTheDigestOfNothing() {
        #expect(SHA256Hasher().finish() == SHA256.hash([UInt8]()))
    }
}
