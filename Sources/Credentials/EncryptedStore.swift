internal import Crypto
internal import SystemSupport

/// Credential material at rest: one file per registry, named by `SecretName`, each an AES-256-GCM sealed
/// box. One file per entry keeps `get` to a single small read and decrypt, and lets concurrent stores for
/// different registries never rewrite each other's data; the store lock still serialises all writers so
/// "read the key, write the entry" is one step.
package struct EncryptedStore: Sendable {
    /// Every entry file starts with this header; it is also bound into the GCM tag (with the file name), so a
    /// file copied over another entry's name fails to decrypt instead of answering for the wrong registry.
    static let magic: [UInt8] = Array("OCICRED-STORE-1\n".utf8)
    static let lockName = ".lock"

    package let directory: String
    package let keyFile: String

    package init(directory: String, keyFile: String) {
        self.directory = directory
        self.keyFile = keyFile
    }

    func path(for key: CredentialKey) -> String { directory + "/" + SecretName.forRegistry(key.description) }

    /// The material stored for exactly this key, or nil. Reads take no lock: entries are replaced by rename,
    /// so a reader sees a whole old or a whole new file.
    package func material(for key: CredentialKey) throws(CredentialError) -> (
        material: CredentialMaterial, path: String
    )? {
        let path = path(for: key)
        let read: [UInt8]?
        try checkDirectory()
        do {
            read = try FileIO.read(path, limit: 1 << 20)
        } catch {
            throw .storeUnreadable(path: path, reason: error.description)
        }
        guard let sealed = read else { return nil }
        guard let storeKey = try StoreKey.load(path: keyFile) else {
            throw .keyMissing(path: keyFile, storePath: directory)
        }
        return (try open(sealed, path: path, key: storeKey), path)
    }

    /// Stores (or replaces) the material for `key`.
    package func store(_ material: CredentialMaterial, for key: CredentialKey) throws(CredentialError) {
        let path = path(for: key)
        do {
            try withStoreLock { () throws(CredentialError) in
                let storeKey = try StoreKey.loadOrCreate(path: keyFile)
                let sealed = try seal(material, path: path, key: storeKey)
                do throws(SystemError) {
                    try FileIO.writeAtomically(sealed, to: path)
                } catch {
                    throw .storeWriteFailed(path: path, reason: error.description)
                }
            }
        }
    }

    /// Removes the entry for `key`; false when there was none. Erasing what was never stored writes nothing —
    /// no store directory, lock file or key appears for it: `podman logout --all` erases every host its auth
    /// file names, stored or not. An entry stored concurrently is kept, as if this erase came first.
    package func erase(_ key: CredentialKey) throws(CredentialError) -> Bool {
        let path = path(for: key)
        try checkDirectory()
        guard FileIO.exists(path) else { return false }
        return try withStoreLock { () throws(CredentialError) in
            do throws(SystemError) {
                return try FileIO.remove(path)
            } catch {
                throw .storeWriteFailed(path: path, reason: error.description)
            }
        }
    }

    /// Removes every entry (`ocicred logout --all`); how many there were. Entries are removed by name, never
    /// decrypted, so a store whose key is lost can still be emptied. A missing store stays missing.
    package func eraseAll() throws(CredentialError) -> Int {
        try checkDirectory()
        guard FileIO.isDirectory(directory) else { return 0 }
        return try withStoreLock { () throws(CredentialError) in
            let names: [String]
            do throws(SystemError) {
                names = try FileIO.list(directory).filter(Self.isEntryName)
            } catch {
                throw .storeUnreadable(path: directory, reason: error.description)
            }
            var removed = 0
            for name in names {
                do throws(SystemError) {
                    if try FileIO.remove(directory + "/" + name) { removed += 1 }
                } catch {
                    throw .storeWriteFailed(path: directory + "/" + name, reason: error.description)
                }
            }
            return removed
        }
    }

    /// The store directory must be private (PrivatePath); once it is, temporary files that writers killed mid-way
    /// left in it are removed (`FileIO.sweepStaleTemporaries`), so a `get`, `list` or `erase` after a SIGKILLed
    /// `store` leaves no ciphertext behind — never one a live writer is still filling (it holds its lock).
    private func checkDirectory() throws(CredentialError) {
        do throws(PrivatePath.Unsafe) {
            try PrivatePath.checkDirectory(directory)
        } catch {
            throw .unsafePath(error.description)
        }
        FileIO.sweepStaleTemporaries(in: directory)
    }

    /// Entry files are `oci-creds-<hex>`; temporary files and the lock carry a `.`.
    static func isEntryName(_ name: String) -> Bool { name.hasPrefix(SecretName.prefix) && !name.contains(".") }

    /// Every stored entry. A damaged entry is an error naming its file, never silently left out.
    package func list() throws(CredentialError) -> [CredentialMaterial] {
        let names: [String]
        try checkDirectory()
        do {
            names = try FileIO.list(directory).filter(Self.isEntryName)
        } catch {
            throw .storeUnreadable(path: directory, reason: error.description)
        }
        if names.isEmpty { return [] }
        guard let storeKey = try StoreKey.load(path: keyFile) else {
            throw .keyMissing(path: keyFile, storePath: directory)
        }
        var result = [CredentialMaterial]()
        for name in names {
            let path = directory + "/" + name
            let bytes: [UInt8]?
            do {
                bytes = try FileIO.read(path, limit: 1 << 20)
            } catch {
                throw .storeUnreadable(path: path, reason: error.description)
            }
            // Erased between listing and reading: not an error.
            guard let bytes else { continue }
            result.append(try open(bytes, path: path, key: storeKey))
        }
        return result
    }

    private func withStoreLock<T>(_ body: () throws(CredentialError) -> T) throws(CredentialError) -> T {
        let lockPath = directory + "/" + Self.lockName
        do {
            try PrivatePath.prepareDirectory(directory)
        } catch {
            throw .unsafePath(error.description)
        }
        let lock: FileLock
        do {
            lock = try FileLock(path: lockPath)
        } catch {
            throw .storeWriteFailed(path: lockPath, reason: error.description)
        }
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }

    private static func associatedData(path: String) -> [UInt8] {
        magic + Array(path.split(separator: "/").last.map(String.init)?.utf8 ?? "".utf8)
    }

    private func seal(_ material: CredentialMaterial, path: String, key: StoreKey) throws(CredentialError) -> [UInt8] {
        do {
            return Self.magic
                + (try key.cipher.seal(material.serialized(), associatedData: Self.associatedData(path: path)))
        } catch {
            throw .storeWriteFailed(path: path, reason: error.description)
        }
    }

    private func open(_ bytes: [UInt8], path: String, key: StoreKey) throws(CredentialError) -> CredentialMaterial {
        guard bytes.count > Self.magic.count, Array(bytes.prefix(Self.magic.count)) == Self.magic else {
            throw .storeCorrupt(path: path, reason: "it does not start with the ocicred store header")
        }
        let plaintext: [UInt8]
        do {
            plaintext = try key.cipher.open(
                Array(bytes.dropFirst(Self.magic.count)), associatedData: Self.associatedData(path: path))
        } catch CryptoError.authenticationFailed {
            throw .storeUndecryptable(path: path, keyFile: key.path)
        } catch {
            throw .storeCorrupt(path: path, reason: error.description)
        }
        let object: [String: JSONValue]
        do {
            object = try JSONValue.parseObject(plaintext)
        } catch {
            throw .storeCorrupt(path: path, reason: "its decrypted content is not JSON")
        }
        return try CredentialMaterial.fromObject(object, registry: "")
    }
}
