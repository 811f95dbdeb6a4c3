internal import Crypto
internal import SystemSupport

/// The AES-256 key that seals the store. It lives in its own file (OCICRED_KEY_FILE, or
/// `$XDG_CONFIG_HOME/ocicred/key`) so the key can come from a mounted Kubernetes Secret while the store sits on
/// a volume, and so copying the store alone reveals nothing.
struct StoreKey {
    let path: String
    let cipher: AESGCM

    /// Loads the key, or nil when the key file does not exist.
    static func load(path: String) throws(CredentialError) -> StoreKey? {
        let bytes: [UInt8]?
        do throws(PrivatePath.Unsafe) {
            try PrivatePath.checkKeyFile(path)
        } catch {
            throw .unsafePath(error.description)
        }
        do {
            bytes = try FileIO.read(path, limit: 4096)
        } catch {
            throw .keyUnreadable(path: path, reason: error.description)
        }
        guard let bytes else { return nil }
        guard let raw = decode(bytes), let cipher = try? AESGCM(key: raw) else { throw .keyInvalid(path: path) }
        return StoreKey(path: path, cipher: cipher)
    }

    /// Loads the key, creating a fresh random one (0600, in a 0700 directory) on first use. Creation is
    /// exclusive, so two first-time writers racing end up with the same key.
    static func loadOrCreate(path: String) throws(CredentialError) -> StoreKey {
        if let key = try load(path: path) { return key }
        do throws(PrivatePath.Unsafe) {
            try PrivatePath.prepareDirectory(FileIO.directoryName(path))
        } catch {
            throw .unsafePath(error.description)
        }
        do {
            let raw = try SecureRandom.bytes(AESGCM.keyByteCount)
            _ = try FileIO.createExclusively(Array((Base64.encode(raw) + "\n").utf8), at: path)
        } catch let error as SystemError {
            throw .keyUnreadable(path: path, reason: "cannot create it: \(error.description)")
        } catch {
            throw .keyUnreadable(path: path, reason: "cannot create it: \(error)")
        }
        guard let key = try load(path: path) else { throw .keyUnreadable(path: path, reason: "it vanished") }
        return key
    }

    /// Accepts 32 raw bytes, or text holding base64 or hex of 32 bytes (a Secret created with
    /// `kubectl create secret generic --from-file` keeps whatever the user had).
    static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        if bytes.count == AESGCM.keyByteCount { return bytes }
        let text = String(decoding: bytes, as: UTF8.self).trimmingASCIIWhitespace()
        if text.utf8.count == 64, let hex = decodeHex(text) { return hex }
        if let decoded = Base64.decode(text), decoded.count == AESGCM.keyByteCount { return decoded }
        return nil
    }

    private static func decodeHex(_ text: String) -> [UInt8]? {
        var out = [UInt8]()
        var high: UInt8?
        for char in text.utf8 {
            let value: UInt8
            switch char {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = char - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = char - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = char - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return out
    }
}
