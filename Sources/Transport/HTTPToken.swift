/// RFC 9110 §5.6.2 `token`: what a header name, a method or an auth scheme may be made of. The transport refuses a
/// method or header name outside it (so no caller can smuggle a line into a request) and the registry client
/// parses `WWW-Authenticate` with it: one alphabet, so what one side accepts the other can read.
package enum HTTPToken {
    /// `tchar`.
    package static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// Whether `text` is a non-empty token.
    package static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenCharacter)
    }
}
