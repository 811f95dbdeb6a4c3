internal import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport

/// When tokens stop working, read from the places issuers put it, and the rule that a token about to expire is
/// never handed out: a client that gets a token with seconds left fails mid-push with a 401 that looks like
/// a wrong password.
enum TokenLifetime {
    /// The least lifetime a token handed out must have left.
    static let minimumRemaining: TimeInterval = 60

    /// Fails unless `expiresAt` is at least `minimumRemaining` after `now`.
    static func requireUsable(
        _ expiresAt: Date, now: Date, provider: String, endpoint: String
    ) throws(ProviderError) {
        let left = expiresAt.timeIntervalSince(now)
        guard left >= minimumRemaining else {
            throw .invalidResponse(
                provider: provider, endpoint: endpoint,
                reason:
                    "the token it gave expires in \(Int(left.rounded(.down))) s; ocicred hands out only tokens with "
                    + "at least \(Int(minimumRemaining)) s left")
        }
    }

    /// The `exp` claim of a JWT, read without verifying the signature (the token's audience verifies it; we only
    /// need to know when it lapses). nil when the token is not a JWT or has no numeric `exp`.
    static func jwtExpiry(_ token: String) -> Date? {
        guard let claims = jwtClaims(token), let exp = OAuth2.number(claims["exp"]) else { return nil }
        return Date(timeIntervalSince1970: exp)
    }

    /// The claims object of a JWT, unverified.
    static func jwtClaims(_ token: String) -> [String: JSONValue]? {
        guard let bytes = JWT.unverifiedClaims(token) else { return nil }
        return try? JSONValue.parseObject(bytes)
    }

    /// Parses an RFC 3339 timestamp (`2024-05-01T12:00:00Z`, with or without fractional seconds or an offset),
    /// the format of IAM's `expireTime` and of `GCP_ACCESS_TOKEN_EXPIRY`.
    static func parseRFC3339(_ text: String) -> Date? { RFC3339.parse(text.trimmingASCIIWhitespace()) }
}

/// Reading the small files providers take identity from (ADC JSON, key files, projected service-account tokens).
enum ProviderFile {
    /// The file's bytes; nil when it does not exist. A file that exists but cannot be read is a configuration
    /// error naming the path (never the contents).
    static func read(_ path: String, provider: String, what: String) throws(ProviderError) -> [UInt8]? {
        do {
            return try FileIO.read(path, limit: 1 << 20)
        } catch {
            throw .misconfigured(provider: provider, detail: "cannot read \(what): \(error.description)")
        }
    }

    /// The file as a JSON object; a file that is not one is a configuration error naming the path.
    static func readJSONObject(_ path: String, provider: String, what: String) throws(ProviderError)
        -> [String: JSONValue]?
    {
        guard let bytes = try read(path, provider: provider, what: what) else { return nil }
        guard let object = try? JSONValue.parseObject(bytes) else {
            throw .misconfigured(provider: provider, detail: "\(what) \(path) is not a JSON object")
        }
        return object
    }
}
