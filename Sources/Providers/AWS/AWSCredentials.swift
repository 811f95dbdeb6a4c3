internal import Credentials
internal import FoundationEssentials

/// One set of AWS credentials: an access key id, its secret, and for temporary credentials the session token
/// and expiry. Prints without its secrets.
struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    var accessKeyID: String
    var secretAccessKey: Secret
    var sessionToken: Secret?
    var expiration: Date?

    init(accessKeyID: String, secretAccessKey: Secret, sessionToken: Secret? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// Reads the SDKs' variable names (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`) from a
    /// lookup, so the environment and stored material are read the same way. Both keys must be present and
    /// non-empty, as the SDKs' environment provider requires; a lone key id is no credential.
    static func fromVariables(_ lookup: (String) -> String?) -> AWSCredentials? {
        guard let id = lookup("AWS_ACCESS_KEY_ID"), !id.isEmpty,
            let secret = lookup("AWS_SECRET_ACCESS_KEY"), !secret.isEmpty
        else { return nil }
        let token = lookup("AWS_SESSION_TOKEN").flatMap { $0.isEmpty ? nil : Secret($0) }
        return AWSCredentials(accessKeyID: id, secretAccessKey: Secret(secret), sessionToken: token)
    }

    var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), session: \(sessionToken != nil), expiration: "
            + "\(expiration.map { "\($0)" } ?? "none"))"
    }
}
