internal import Crypto
package import FoundationEssentials
internal import SystemSupport

/// Minted registry tokens shared by every ocicred process through one encrypted file. A token is reused
/// until its `refreshAt` (expiry minus the larger of 10 % of its lifetime and 5 minutes); when it is due, one
/// process mints under an exclusive lock while the others wait on the lock and then read its result, so 20
/// parallel `get`s for an ECR host cost one GetAuthorizationToken, not 20.
package struct TokenCache: Sendable {
    package let file: String
    package let keyFile: String
    /// Injected so expiry logic is tested in microseconds, not with sleep.
    let now: @Sendable () -> Date

    static let magic: [UInt8] = Array("OCICRED-TOKENS-1\n".utf8)

    package init(file: String, keyFile: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.file = file
        self.keyFile = keyFile
        self.now = now
    }

    /// A cached token and when it was minted.
    struct Entry: Equatable {
        var username: String
        var secret: Secret
        var issuedAt: Date
        var expiresAt: Date

        /// Times as fractional Unix seconds. Read with the small JSON parser, not JSONDecoder: a cache hit is a
        /// helper `get`, and JSONDecoder's generic set-up costs more than the whole read.
        var json: JSONValue {
            .object([
                "username": .string(username), "secret": .string(secret.exposedValue),
                "issuedAt": .number(issuedAt.timeIntervalSince1970),
                "expiresAt": .number(expiresAt.timeIntervalSince1970),
            ])
        }

        init(username: String, secret: Secret, issuedAt: Date, expiresAt: Date) {
            self.username = username
            self.secret = secret
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
        }

        init?(_ value: JSONValue) {
            guard case .object(let fields) = value, let username = fields["username"]?.stringValue,
                let secret = fields["secret"]?.stringValue, let issued = fields["issuedAt"]?.doubleValue,
                let expires = fields["expiresAt"]?.doubleValue
            else { return nil }
            self.init(
                username: username, secret: Secret(secret), issuedAt: Date(timeIntervalSince1970: issued),
                expiresAt: Date(timeIntervalSince1970: expires))
        }
    }

    /// The moment a cached token is replaced (`RenewalPolicy.credential`).
    package static func refreshAt(issuedAt: Date, expiresAt: Date) -> Date {
        RenewalPolicy.credential.renewAt(issuedAt: issuedAt, expiresAt: expiresAt)
    }

    /// The cached token for (registry, identity) if it is not due yet; otherwise runs `mint` under the cache
    /// lock (re-checking first: another process may have minted while we waited) and caches its result unless
    /// it arrived already due — such a token is handed out for this call but never cached.
    package func token(
        registry: String, identity: String, mint: () async throws(CredentialError) -> MintedToken
    ) async throws(CredentialError) -> MintedToken {
        let cacheKey = registry + "\n" + identity
        if let hit = cached(registry: registry, identity: identity) { return hit }
        let lock: FileLock
        do throws(PrivatePath.Unsafe) {
            try PrivatePath.prepareDirectory(FileIO.directoryName(file))
        } catch {
            throw .unsafePath(error.description)
        }
        do {
            lock = try await FileLock.acquire(path: file + ".lock")
        } catch {
            throw .storeWriteFailed(path: file + ".lock", reason: error.description)
        }
        // The lock is held until this function returns: the mint and the write happen under it.
        defer { withExtendedLifetime(lock) {} }
        var entries = (try? read()) ?? [:]
        if let hit = fresh(entries[cacheKey]) { return hit }
        let issuedAt = now()
        let token = try await mint()
        let entry = Entry(
            username: token.username, secret: token.secret, issuedAt: issuedAt,
            expiresAt: token.expiresAt)
        guard fresh(entry) != nil else { return token }
        entries[cacheKey] = entry
        // Drop what has expired, so the file does not grow with every identity ever used.
        let current = now()
        entries = entries.filter { $0.value.expiresAt > current }
        try write(entries)
        return token
    }

    /// The cached token if it is not due yet, without locking or minting: the synchronous fast path a
    /// credential-helper `get` takes before it starts any async machinery.
    package func cached(registry: String, identity: String) -> MintedToken? {
        fresh(try? read()?[registry + "\n" + identity])
    }

    /// Forgets every cached token for `registry` (all identities), e.g. after the registry rejected one. Waits
    /// for the lock without blocking a thread: the sidecar calls this on the event loop that serves /healthz.
    package func invalidate(registry: String) async throws(CredentialError) {
        do {
            do throws(PrivatePath.Unsafe) {
                try PrivatePath.prepareDirectory(FileIO.directoryName(file))
            } catch {
                throw CredentialError.unsafePath(error.description)
            }
            let lock = try await FileLock.acquire(path: file + ".lock")
            defer { withExtendedLifetime(lock) {} }
            guard var entries = try? read() else { return }
            entries = entries.filter { !$0.key.hasPrefix(registry + "\n") }
            try write(entries)
        } catch let error as CredentialError {
            throw error
        } catch {
            throw .storeWriteFailed(path: file, reason: "\(error)")
        }
    }

    private func fresh(_ entry: Entry?) -> MintedToken? {
        guard let entry else { return nil }
        guard now() < Self.refreshAt(issuedAt: entry.issuedAt, expiresAt: entry.expiresAt) else { return nil }
        return MintedToken(username: entry.username, secret: entry.secret, expiresAt: entry.expiresAt)
    }

    /// The cache's entries, or nil when there is no cache file. A cache that cannot be decrypted (key rotated)
    /// or parsed is only a cache: it reads as empty and the next mint replaces it.
    func read() throws -> [String: Entry]? {
        try PrivatePath.checkDirectory(FileIO.directoryName(file))
        guard let bytes = try FileIO.read(file, limit: 4 << 20) else { return nil }
        guard bytes.count > Self.magic.count, Array(bytes.prefix(Self.magic.count)) == Self.magic,
            let key = try StoreKey.load(path: keyFile)
        else { return [:] }
        let plaintext = try key.cipher.open(Array(bytes.dropFirst(Self.magic.count)), associatedData: Self.magic)
        return try JSONValue.parseObject(plaintext).compactMapValues(Entry.init)
    }

    private func write(_ entries: [String: Entry]) throws(CredentialError) {
        let key = try StoreKey.loadOrCreate(path: keyFile)
        do {
            let plaintext = try JSONValue.serialize(entries.mapValues(\.json), pretty: false)
            let sealed = try key.cipher.seal(plaintext, associatedData: Self.magic)
            try FileIO.writeAtomically(Self.magic + sealed, to: file)
        } catch let error as SystemError {
            throw .storeWriteFailed(path: file, reason: error.description)
        } catch {
            throw .storeWriteFailed(path: file, reason: "\(error)")
        }
    }
}
