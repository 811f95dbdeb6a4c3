package import Credentials
package import FoundationEssentials

/// What a credential provider writes to stdout (`credentialprovider.kubelet.k8s.io/v1`). The kubelet decodes
/// it strictly (unknown fields are an error), so it is encoded from exactly these fields and nothing else —
/// no nulls, no extras.
package struct CredentialProviderResponse: Sendable, Equatable {
    /// Which images the kubelet may reuse this answer for (`PluginCacheKeyType`).
    package enum CacheKeyType: String, Sendable {
        case image = "Image"
        case registry = "Registry"
        case global = "Global"
    }

    package struct AuthConfig: Sendable, Equatable, Encodable {
        package var username: String
        /// The registry password or token, exposed only where it is encoded for the kubelet's stdout.
        package var password: Secret

        package init(username: String, password: Secret) {
            self.username = username
            self.password = password
        }

        private enum CodingKeys: String, CodingKey { case username, password }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(username, forKey: .username)
            try container.encode(password.exposedValue, forKey: .password)
        }
    }

    package var cacheKeyType: CacheKeyType
    /// Seconds the kubelet may cache the answer; 0 means "do not cache".
    package var cacheDurationSeconds: Int
    /// Keyed by registry host (`host[:port]`), matched against images with `matchImages` glob semantics.
    package var auth: [String: AuthConfig]

    package init(cacheKeyType: CacheKeyType, cacheDurationSeconds: Int, auth: [String: AuthConfig]) {
        self.cacheKeyType = cacheKeyType
        self.cacheDurationSeconds = cacheDurationSeconds
        self.auth = auth
    }

    private struct Wire: Encodable {
        let kind = "CredentialProviderResponse"
        let apiVersion = CredentialProviderRequest.apiVersion
        let cacheKeyType: String
        let cacheDuration: String
        let auth: [String: AuthConfig]
    }

    /// The JSON the kubelet reads: `cacheDuration` as a Go duration string (`metav1.Duration`), keys sorted
    /// so the output is stable, one line ending in a newline.
    package func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let wire = Wire(
            cacheKeyType: cacheKeyType.rawValue, cacheDuration: GoDuration.format(seconds: cacheDurationSeconds),
            auth: auth)
        // Encoding strings and a dictionary of strings cannot fail.
        return Array(try! encoder.encode(wire)) + [0x0a]
    }

    /// Half the credential's remaining life, so the kubelet asks again well before the token expires (ECR's
    /// 12 h token is cached ~6 h); 0 ("do not cache") when the lifetime is unknown or already over, since the
    /// kubelet would otherwise apply its configured default to a credential that may be revoked any time.
    package static func cacheDuration(expiresAt: Date?, now: Date) -> Int {
        guard let expiresAt else { return 0 }
        let remaining = expiresAt.timeIntervalSince(now)
        guard remaining > 0 else { return 0 }
        return Int((remaining / 2).rounded(.down))
    }
}

/// Go's `time.Duration.String()` for whole seconds: "0s", "45s", "1m0s", "5h59m30s".
enum GoDuration {
    static func format(seconds: Int) -> String {
        guard seconds > 0 else { return "0s" }
        let hours = seconds / 3600, minutes = seconds / 60 % 60, rest = seconds % 60
        if hours > 0 { return "\(hours)h\(minutes)m\(rest)s" }
        if minutes > 0 { return "\(minutes)m\(rest)s" }
        return "\(rest)s"
    }
}
