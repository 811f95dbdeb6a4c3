internal import Transport

/// One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1): what a registry (Basic) or a distribution
/// registry with a token server (Bearer, with `realm`, `service`, `scope`) asks the client to do.
///
/// The parser is pure and lenient in one way only: a header that breaks the grammar yields the challenges that
/// were complete before the break, never a half-read one, so a garbled proxy header cannot send credentials to a
/// realm that was cut short.
package struct AuthChallenge: Sendable, Equatable, CustomStringConvertible {
    /// Lower-cased (`basic`, `bearer`): schemes are case-insensitive (RFC 9110 §11.1).
    package var scheme: String
    /// Parameter names lower-cased (case-insensitive, §11.2); values unquoted and unescaped. A name given twice
    /// keeps its first value.
    package var parameters: [String: String]
    /// The token68 form (`Negotiate YIIC…`), which carries no parameters.
    package var token68: String?

    package init(scheme: String, parameters: [String: String] = [:], token68: String? = nil) {
        self.scheme = scheme.lowercased()
        self.parameters = parameters
        self.token68 = token68
    }

    package var realm: String? { parameters["realm"] }
    package var service: String? { parameters["service"] }
    /// The scopes the registry named, split on spaces as the token spec allows several in one parameter.
    package var scopes: [String] { (parameters["scope"] ?? "").split(separator: " ").map(String.init) }
    package var isBasic: Bool { scheme == "basic" }
    package var isBearer: Bool { scheme == "bearer" }

    package var description: String {
        let shown = parameters.keys.sorted().map { "\($0)=\"\(parameters[$0]!)\"" }.joined(separator: ",")
        return shown.isEmpty ? scheme : "\(scheme) \(shown)"
    }

    /// Every challenge in `header`. Several `WWW-Authenticate` fields are one comma-separated list (RFC 9110
    /// §5.3), so callers may join them with ", " first.
    package static func parse(_ header: String) -> [AuthChallenge] {
        var scanner = ChallengeScanner(Array(header.utf8))
        var challenges: [AuthChallenge] = []
        while true {
            scanner.skipSeparators()
            if scanner.atEnd { return challenges }
            guard let challenge = scanner.challenge() else { return challenges }
            challenges.append(challenge)
        }
    }

    /// The challenges of every `WWW-Authenticate` field of a response, in order.
    package static func parse(headers: [(name: String, value: String)]) -> [AuthChallenge] {
        parse(
            headers.filter { $0.name.lowercased() == "www-authenticate" }.map(\.value).joined(separator: ", "))
    }
}

/// The RFC 9110 grammar over bytes: `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`,
/// `auth-param = token BWS "=" BWS ( token / quoted-string )`. A comma ends a parameter; a token after a comma
/// that is not followed by `=` starts the next challenge.
private struct ChallengeScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index >= bytes.count }
    var current: UInt8? { atEnd ? nil : bytes[index] }

    mutating func skipSpaces() {
        while let byte = current, byte == 0x20 || byte == 0x09 { index += 1 }
    }

    mutating func skipSeparators() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == UInt8(ascii: ",") { index += 1 }
    }

    mutating func challenge() -> AuthChallenge? {
        guard let scheme = token(), !scheme.isEmpty else { return nil }
        var challenge = AuthChallenge(scheme: scheme)
        let afterScheme = index
        skipSpaces()
        if atEnd || current == UInt8(ascii: ",") { return challenge }
        guard index > afterScheme else { return nil }  // `Basic"x"`: no space after the scheme

        if let token68 = token68() {
            challenge.token68 = token68
            return challenge
        }
        while true {
            let parameterStart = index
            guard let name = token(), !name.isEmpty else { return nil }
            skipSpaces()
            guard current == UInt8(ascii: "=") else {
                // A bare token: the scheme of the next challenge, unless nothing was read for this one yet.
                if challenge.parameters.isEmpty { return nil }
                index = parameterStart
                return challenge
            }
            index += 1
            skipSpaces()
            let value: String
            if current == UInt8(ascii: "\"") {
                guard let quoted = quotedString() else { return nil }
                value = quoted
            } else {
                guard let plain = token(), !plain.isEmpty else { return nil }
                value = plain
            }
            let key = name.lowercased()
            if challenge.parameters[key] == nil { challenge.parameters[key] = value }
            skipSpaces()
            if atEnd { return challenge }
            guard current == UInt8(ascii: ",") else { return nil }
            skipSeparators()
            if atEnd { return challenge }
            // Look ahead: `name=` continues this challenge, a token without `=` starts the next one.
            let save = index
            guard token() != nil else { return nil }
            skipSpaces()
            let continues = current == UInt8(ascii: "=")
            index = save
            if !continues { return challenge }
        }
    }

    /// `token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`, accepted only when it is
    /// the whole rest of the challenge (followed by the end or a comma), so `realm=x` is not mistaken for one.
    mutating func token68() -> String? {
        let start = index
        var end = index
        while end < bytes.count, Self.isToken68(bytes[end]) { end += 1 }
        guard end > start else { return nil }
        var padded = end
        while padded < bytes.count, bytes[padded] == UInt8(ascii: "=") { padded += 1 }
        var after = padded
        while after < bytes.count, bytes[after] == 0x20 || bytes[after] == 0x09 { after += 1 }
        guard after == bytes.count || bytes[after] == UInt8(ascii: ",") else { return nil }
        index = after
        return String(decoding: bytes[start..<padded], as: UTF8.self)
    }

    mutating func token() -> String? {
        let start = index
        while let byte = current, HTTPToken.isTokenCharacter(byte) { index += 1 }
        return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
    }

    /// `quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE` (§5.6.4); nil when unterminated.
    mutating func quotedString() -> String? {
        index += 1
        var value: [UInt8] = []
        while let byte = current {
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: value, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = current else { return nil }
                value.append(escaped)
                index += 1
            default:
                value.append(byte)
            }
        }
        return nil
    }

    static func isToken68(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "-._~+/".utf8.contains(byte)
        }
    }
}
