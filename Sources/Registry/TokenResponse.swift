public import Credentials
public import FoundationEssentials

/// A token server's answer (distribution's token spec, "Token Response Fields", and its OAuth2 variant):
/// `token` or `access_token`, `expires_in` (seconds, default 60), `issued_at` (RFC 3339), and with
/// `offline_token=true` or a refresh grant a `refresh_token`.
public struct TokenResponse: Sendable, Equatable {
    /// The spec's default lifetime when `expires_in` is absent or not positive.
    public static let defaultLifetime = 60

    public var token: Secret
    /// Seconds. Unlike docker, a lifetime under 60 s is *not* raised to 60: a 30-second token would then be
    /// reused after it expired (a lazy mount with short tokens relies on this).
    public var expiresIn: Int
    public var issuedAt: Date?
    public var refreshToken: Secret?

    public init(
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
    public func expiresAt(receivedAt: Date) -> Date {
        let start = issuedAt.map { min($0, receivedAt) } ?? receivedAt
        return start.addingTimeInterval(TimeInterval(expiresIn))
    }

    /// Parses the JSON body. `token` wins over `access_token` when both are set (the spec says they are the same;
    /// docker prefers `token` too). The error never quotes the body: it holds tokens.
    public static func parse(_ body: [UInt8]) throws(TokenResponseError) -> TokenResponse {
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

    private struct Fields: Decodable {
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

public enum TokenResponseError: Error, Equatable, CustomStringConvertible {
    case notJSON
    case missingToken
    case invalidIssuedAt

    public var description: String {
        switch self {
        case .notJSON: return "the token server's answer is not a JSON object of the expected shape"
        case .missingToken: return "the token server's answer has neither token nor access_token"
        case .invalidIssuedAt: return "the token server's issued_at is not an RFC 3339 time"
        }
    }
}

/// RFC 3339 `date-time` (`2024-05-01T12:00:00.123456789Z`, `…+02:00`), as Go's time.RFC3339Nano writes it.
/// Written out because its grammar is tiny and a formatter's locale or leniency must not decide expiries.
enum RFC3339 {
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + count] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"),
            let second = number(2)
        else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else {
            return nil
        }
        var fraction = 0.0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if expect("Zz") {
            offset = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), hours < 24, minutes < 60 else {
                return nil
            }
            offset = sign * (hours * 3600 + minutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: TimeInterval(seconds) + fraction)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
