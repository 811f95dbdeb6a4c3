internal import Credentials
package import FoundationEssentials
internal import SystemSupport

/// `F.status` beside an auth file `F` the refresh writes: which entries ocicred wrote and when each expires,
/// so an exec probe (`ocicred health --file F`) can judge the file without credentials of its own. It holds
/// registry names and times only — never a secret — and is written 0600, atomically, after the auth file.
package struct AuthFileStatus: Codable, Sendable, Equatable {
    package struct Entry: Codable, Sendable, Equatable {
        /// The key of the entry in the auth file's `auths`.
        package var key: String
        /// Unix seconds; nil for a credential without a known lifetime.
        package var expiresAt: Double?
    }

    package var version = 1
    package var writtenAt: Double
    package var entries: [Entry]

    package static func path(for authFile: String) -> String { authFile + ".status" }

    package func write(beside authFile: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try FileIO.writeAtomically(Array(try encoder.encode(self)) + [0x0A], to: Self.path(for: authFile))
    }

    package static func read(beside authFile: String) throws -> AuthFileStatus? {
        guard let bytes = try FileIO.read(path(for: authFile), limit: 1 << 20) else { return nil }
        return try JSONDecoder().decode(AuthFileStatus.self, from: Data(bytes))
    }
}

/// What `ocicred health --file F` decides.
package enum AuthFileHealth {
    package enum Verdict: Sendable, Equatable, CustomStringConvertible {
        case healthy(entries: Int)
        case unreadable(String)
        case noStatus
        case missingEntry(String)
        case expired(String, at: Double)

        package var isHealthy: Bool { if case .healthy = self { return true } else { return false } }

        package var description: String {
            switch self {
            case .healthy(let count): return "ok: \(count) entries written by ocicred, none expired"
            case .unreadable(let reason): return "the auth file cannot be used: \(reason)"
            case .noStatus: return "no status file beside it: ocicred refresh has not written this file yet"
            case .missingEntry(let key): return "the entry for \(key) that ocicred wrote is missing"
            case .expired(let key, let at):
                return "the credential for \(key) expired at \(Date(timeIntervalSince1970: at))"
            }
        }
    }

    /// The auth file parses, and every entry the status lists is present and unexpired at `now`.
    package static func check(path: String, now: Date = Date()) -> Verdict {
        let file: AuthFile
        do {
            guard let bytes = try FileIO.read(path, limit: 16 << 20) else {
                return .unreadable("\(path) does not exist")
            }
            file = try AuthFile.parse(bytes)
        } catch let error as SystemError {
            return .unreadable(error.description)
        } catch {
            return .unreadable("\(error)")
        }
        let status: AuthFileStatus
        do {
            guard let read = try AuthFileStatus.read(beside: path) else { return .noStatus }
            status = read
        } catch {
            return .unreadable("its status file does not parse: \(error)")
        }
        for entry in status.entries {
            guard file.auths[entry.key] != nil else { return .missingEntry(entry.key) }
            if let expiresAt = entry.expiresAt, expiresAt <= now.timeIntervalSince1970 {
                return .expired(entry.key, at: expiresAt)
            }
        }
        return .healthy(entries: status.entries.count)
    }
}
