internal import Credentials
internal import Crypto
internal import FoundationEssentials
internal import SystemSupport

/// A service-account key file's fields and the JWT-bearer grant that trades it for an access token
/// (RFC 7523 §2.1, https://developers.google.com/identity/protocols/oauth2/service-account#httprest).
struct ServiceAccountKey: Sendable {
    static let defaultTokenURI = "https://oauth2.googleapis.com/token"
    static let grantType = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    static let cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
    /// Google accepts assertions of at most an hour.
    static let assertionLifetime: TimeInterval = 3600

    var clientEmail: String
    var privateKey: Secret
    var privateKeyID: String?
    var tokenURI: String

    init(_ document: [String: JSONValue], origin: String) throws(ProviderError) {
        guard let email = document["client_email"]?.stringValue, !email.isEmpty,
            let key = document["private_key"]?.stringValue, !key.isEmpty
        else {
            throw .misconfigured(
                provider: "gcp", detail: "\(origin): a service-account key needs client_email and private_key")
        }
        clientEmail = email
        privateKey = Secret(key)
        privateKeyID = document["private_key_id"]?.stringValue
        tokenURI = document["token_uri"]?.stringValue ?? Self.defaultTokenURI
    }

    /// The signed assertion: `iss` the service account, `aud` the token URI, the cloud-platform scope, and an hour
    /// of validity from `now`. `kid` names the key so Google checks the right public half.
    func assertion(now: Date) throws(ProviderError) -> String {
        let signer: RSASigner
        do {
            signer = try RSASigner(pem: privateKey.exposedValue)
        } catch {
            throw .misconfigured(
                provider: "gcp", detail: "the private_key of \(clientEmail) cannot be used: \(error.description)")
        }
        var header: [String: JSONValue] = ["alg": .string("RS256"), "typ": .string("JWT")]
        if let privateKeyID { header["kid"] = .string(privateKeyID) }
        let issuedAt = Int64(now.timeIntervalSince1970)
        let claims: [String: JSONValue] = [
            "iss": .string(clientEmail), "scope": .string(Self.cloudPlatformScope), "aud": .string(tokenURI),
            "iat": .integer(issuedAt), "exp": .integer(issuedAt + Int64(Self.assertionLifetime)),
        ]
        do {
            return try JWT.sign(
                headerJSON: JSONValue.serialize(header, pretty: false),
                claimsJSON: JSONValue.serialize(claims, pretty: false), signer: signer)
        } catch let error as CryptoError {
            throw .misconfigured(provider: "gcp", detail: "signing the assertion for \(clientEmail) failed: \(error)")
        } catch {
            throw .misconfigured(provider: "gcp", detail: "encoding the assertion for \(clientEmail) failed")
        }
    }

    func fetchToken(_ oauth: OAuth2, now: Date) async throws(ProviderError) -> OAuth2.AccessToken {
        let assertion = try assertion(now: now)
        let answer = try await oauth.postForm(tokenURI, [("grant_type", Self.grantType), ("assertion", assertion)])
        return try oauth.accessToken(answer, url: tokenURI, now: now)
    }
}
