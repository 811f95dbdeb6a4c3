internal import Crypto
internal import SystemSupport

/// The two auth-file dialects: containers/image's `auth.json` and docker's `config.json`. They share the
/// `auths` shape; they differ in how Docker Hub is keyed (`docker.io` vs `https://index.docker.io/v1/`).
package enum AuthFileFormat: String, Sendable, CaseIterable {
    case containers
    case docker

    func entryKey(for key: CredentialKey) -> String {
        switch self {
        case .containers: return key.description
        case .docker: return key.dockerConfigKey
        }
    }
}

extension AuthFile {
    /// Puts `credential` under `key`, replacing any entry that normalises to the same key (so
    /// `https://host/v1/` and `host` never coexist). An identity token is written as `identitytoken`, the
    /// field docker and containers/image read it from; everything else as `auth` = base64(user:secret).
    package mutating func setCredential(
        username: String, secret: Secret, for key: CredentialKey, format: AuthFileFormat
    ) {
        removeEntries(for: key)
        let entry: [String: JSONValue]
        if username == "<token>" {
            entry = ["identitytoken": .string(secret.exposedValue)]
        } else {
            entry = ["auth": .string(Base64.encode(Array((username + ":" + secret.exposedValue).utf8)))]
        }
        auths[format.entryKey(for: key)] = .object(entry)
    }

    /// Names `helper` in `credHelpers` for `host`; returns false when it already was (idempotence).
    @discardableResult
    package mutating func setHelper(_ helper: String, for host: String) -> Bool {
        if credHelpers[host] == helper { return false }
        credHelpers[host] = helper
        return true
    }

    mutating func removeEntries(for key: CredentialKey) {
        for name in auths.keys where (try? CredentialKey(serverURL: name)) == key { auths[name] = nil }
    }

    /// The file as JSON: unknown keys as they were, keys sorted, two-space indent (what docker writes).
    package func serialized() -> [UInt8] {
        var object = otherFields
        if !auths.isEmpty || credHelpers.isEmpty && credsStore == nil { object["auths"] = .object(auths) }
        if !credHelpers.isEmpty { object["credHelpers"] = .object(credHelpers.mapValues { .string($0) }) }
        if let credsStore { object["credsStore"] = .string(credsStore) }
        return ((try? JSONValue.serialize(object, pretty: true)) ?? Array("{}".utf8)) + Array("\n".utf8)
    }
}

/// Read-modify-write of an auth file under its lock, written atomically and 0600, so a reader (podman,
/// buildah, a second ocicred) sees the old file or the new one, and two writers never lose each other's
/// entries. A file that is not valid JSON is refused, never replaced: it may hold someone's credentials.
package enum AuthFileUpdater {
    package struct Result: Sendable {
        /// The file's bytes before (nil when it did not exist) and after.
        package let before: [UInt8]?
        package let after: [UInt8]
        /// The change entry by entry, credentials redacted: what a dry run shows.
        package let change: AuthFileChange
        package var changed: Bool { before != after }
    }

    /// Applies `transform` to the file at `path` under its lock. With `dryRun` nothing is created, locked or
    /// written: the file (if any) is read and the result returned. Waits for the lock without blocking a thread,
    /// because the refresh sidecar calls this on the event loop that also answers /healthz and SIGTERM.
    package static func update(
        path: String, replace: Bool = false, dryRun: Bool = false, _ transform: (inout AuthFile) -> Void
    ) async throws(CredentialError) -> Result {
        if dryRun { return try apply(path: path, replace: replace, write: false, transform) }
        let lock: FileLock
        do {
            try FileIO.makeDirectory(FileIO.directoryName(path))
            lock = try await FileLock.acquire(path: path + ".lock")
        } catch {
            throw .authFileWriteFailed(path: path, reason: error.description)
        }
        defer { withExtendedLifetime(lock) {} }
        return try apply(path: path, replace: replace, write: true, transform)
    }

    private static func apply(
        path: String, replace: Bool, write: Bool, _ transform: (inout AuthFile) -> Void
    ) throws(CredentialError) -> Result {
        let before: [UInt8]?
        do {
            before = try FileIO.read(path, limit: 16 << 20)
        } catch {
            throw .authFileUnreadable(path: path, reason: error.description)
        }
        var file = AuthFile()
        if let before, !replace {
            do {
                file = try AuthFile.parse(before)
            } catch {
                throw .authFileUnreadable(path: path, reason: error.description)
            }
        }
        let original = file
        transform(&file)
        let after = file.serialized()
        if write && after != before {
            do {
                try FileIO.writeAtomically(after, to: path)
            } catch {
                throw .authFileWriteFailed(path: path, reason: error.description)
            }
        }
        return Result(before: before, after: after, change: AuthFileChange(before: original, after: file))
    }
}
