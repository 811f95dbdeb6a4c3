package import Crypto
internal import Registry
internal import SystemSupport

/// The keys behind `--index-key` and `--sign-key`, read through the one reader: a public key is public, but it
/// decides what a mount serves, so it is read like any file another user could place (regular files only, capped);
/// a private key must also be private (PrivatePath's rule for key files).
extension IndexTrust {
    package static func load(keyFiles: [String], pinnedIndex: String?, pushed: Bool) throws(LazyMountError)
        -> IndexTrust
    {
        if let pinnedIndex, !Digest.isWellFormed(pinnedIndex) {
            throw .trust(reason: "--index \(ImageIndex.quoted(pinnedIndex)) is not sha256:<64 lower-case hex>")
        }
        var keys: [ECDSAKey] = []
        for path in keyFiles {
            do {
                keys.append(try ECDSAKey(publicPEM: try pem(at: path)))
            } catch let error as LazyMountError {
                throw error
            } catch {
                throw .trust(reason: "\(path): \(error); give a cosign public key (PEM, BEGIN PUBLIC KEY, P-256)")
            }
        }
        return IndexTrust(keys: keys, pinnedIndex: pinnedIndex, pushed: pushed)
    }

    /// The private key that signs pushed indexes and profiles.
    package static func signingKey(at path: String) throws(LazyMountError) -> ECDSAKey {
        do {
            try PrivatePath.checkKeyFile(path)
        } catch {
            throw .trust(reason: error.description)
        }
        do {
            return try ECDSAKey(privatePEM: try pem(at: path))
        } catch let error as LazyMountError {
            throw error
        } catch {
            throw .trust(reason: "\(path): \(error)")
        }
    }

    private static func pem(at path: String) throws(LazyMountError) -> String {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.read(path, limit: 64 << 10)
        } catch {
            throw .trust(reason: error.description)
        }
        guard let bytes else { throw .trust(reason: "\(path): no such file") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
