internal import Credentials
internal import SystemSupport

/// Reads the small local files the credential chain consults (shared config, token files) through the one file
/// reader: no Foundation on the helper's path, a size cap, and a FIFO or device at the path is an error.
enum LocalFile {
    static let limit = 1 << 20

    /// The file's text, or nil when it does not exist. Other failures are `.misconfigured` naming the path.
    static func readText(_ path: String) throws(ProviderError) -> String? {
        do {
            return try FileIO.readText(path, limit: limit)
        } catch {
            throw .misconfigured(provider: "aws", detail: "cannot \(error.description)")
        }
    }
}
