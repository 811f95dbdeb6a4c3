package import Credentials
package import FoundationEssentials
internal import SystemSupport

/// A token server's answer (distribution's token spec, "Token Response Fields", and its OAuth2 variant):
/// `token` or `access_token`, `expires_in` (seconds, default 60), `issued_at` (RFC 3339), and with
/// `offline_token=true` or a refresh grant a `refresh_token`.
package struct TokenResponse: Sendable, Equatable {
    /// The spec's default lifetime when `expires_in` is absent or not positive.
    package static let defaultLifetime = 60

    package var token: Secret
    /// Seconds. Unlike docker, a lifetime under 60 s is *not* raised to 60: a 30-second token would then be
    /// reused after it expired (a lazy mount with short tokens relies on this).
    package var expiresIn: Int
    package var issuedAt: Date?
    package var refreshToken: Secret?

    package init(
        token: Secret, expiresIn: Int = TokenResponse.defaultLifetime, issuedAt: Date? = nil,
        refreshToken: Secret? = nil
    ) {
        self.token = token
        self.expiresIn = expiresIn
        self.issuedAt = issuedAt
        self.refreshToken = refreshToken
    }

    /// When the token stops working: counted from `issued_at` when that is earlier than our receipt, else from
    /// the receipt, so a server clock ahead of ours never makes us keep a token longer than its lifetime.
    package func expiresAt(receivedAt: Date) -> Date {
        let start = issuedAt.map { min($0, receivedAt) } ?? receivedAt
        return start.addingTimeInterval(TimeInterval(expiresIn))
    }

    /// Parses the JSON body. `token` wins over `access_token` when both are set (the spec says they are the same;
    /// docker prefers `token` too). The error never quotes the body: it holds tokens.
    package static func parse(_ body: [UInt8]) throws(TokenResponseError) -> TokenResponse {
        let fields: Fields
        do {
            fields = try JSONDecoder().decode(Fields.self, from: Data(body))
        } catch {
            throw .notJSON
        }
        guard let token = [fields.token, fields.accessToken].compactMap({ $0 }).first(where: { !$0.isEmpty })
        else { throw .missingToken }
        var lifetime = defaultLifetime
        if let seconds = fields.expiresIn, seconds.isFinite, seconds >= 1 {
            lifetime = seconds > Double(Int32.max) ? Int(Int32.max) : Int(seconds)
        }
        var issuedAt: Date?
        if let text = fields.issuedAt, !text.isEmpty {
            guard let date = RFC3339.parse(text) else { throw .invalidIssuedAt }
            issuedAt = date
        }
        let refresh = fields.refreshToken.flatMap { $0.isEmpty ? nil : Secret($0) }
        return TokenResponse(token: Secret(token), expiresIn: lifetime, issuedAt: issuedAt, refreshToken: refresh)
    }

    /// Holds the token as plain text only while decoding; reflected, it shows which fields were present.
    private struct Fields: Decodable, CustomReflectable {
        var customMirror: Mirror {
            Mirror(self, children: ["hasToken": token != nil || accessToken != nil, "expiresIn": expiresIn as Any])
        }

        var token: String?
        var accessToken: String?
        var expiresIn: Double?
        var issuedAt: String?
        var refreshToken: String?

        enum CodingKeys: String, CodingKey {
            case token
            case accessToken = "access_token"
            case expiresIn = "expires_in"
            case issuedAt = "issued_at"
            case refreshToken = "refresh_token"
        }
    }
}

package enum TokenResponseError: Error, Equatable, CustomStringConvertible {
    case notJSON
    case missingToken
    case invalidIssuedAt

    package var description: String {
        switch self {
        case .notJSON: return "the token server's answer is not a JSON object of the expected shape"
        case .missingToken: return "the token server's answer has neither token nor access_token"
        case .invalidIssuedAt: return "the token server's issued_at is not an RFC 3339 time"
        }
    }
}
