internal import Credentials
internal import FoundationEssentials
internal import Synchronization
internal import SystemSupport

/// The bearer token, re-read from its file once `refreshPeriod` has passed or after a 401: the kubelet
/// rewrites projected service-account tokens well before they expire (at 80 % of their life, KEP-1205), and
/// client-go likewise re-reads the file every minute (`transport.NewCachedFileTokenSource`).
final class BearerTokenSource: Sendable {
    static let refreshPeriod: TimeInterval = 60
    static let maximumTokenBytes = 64 * 1024

    let token: ClusterConfig.Token
    private let now: @Sendable () -> Date
    private let cached = Mutex<(value: Secret, readAt: Date)?>(nil)

    init(_ token: ClusterConfig.Token, now: @escaping @Sendable () -> Date) {
        self.token = token
        self.now = now
    }

    /// The current token, or nil when the config has none (an unauthenticated test cluster).
    func current() throws(KubernetesError) -> Secret? {
        switch token {
        case .none: return nil
        case .inline(let secret): return secret
        case .file(let path):
            let time = now()
            if let entry = cached.withLock({ $0 }), time.timeIntervalSince(entry.readAt) < Self.refreshPeriod,
                time >= entry.readAt
            {
                return entry.value
            }
            let value = try Self.read(path)
            cached.withLock { $0 = (value, time) }
            return value
        }
    }

    /// Forgets the cached token so the next request re-reads the file (after a 401).
    func invalidate() { cached.withLock { $0 = nil } }

    var rereadable: Bool {
        if case .file = token { return true }
        return false
    }

    private static func read(_ path: String) throws(KubernetesError) -> Secret {
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.read(path, limit: maximumTokenBytes)
        } catch {
            throw .tokenUnreadable(path: path, reason: error.description)
        }
        guard let bytes else { throw .tokenUnreadable(path: path, reason: "the file does not exist") }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw .tokenUnreadable(path: path, reason: "the file is empty") }
        return Secret(text)
    }
}
