/// Why an image reference or a registry server URL was refused.
///
/// Each message names the offending part and shows a valid form, because these errors reach people typing
/// `podman login` or a config file, not programmers. No case carries text that could hold a password: user
/// information in a URL is refused as a whole, before anything else is looked at, so it is never echoed.
package enum ReferenceError: Error, Equatable, CustomStringConvertible {
    /// Nothing was given where a reference or a registry address was expected.
    case empty
    /// The host part is not a DNS name, an IPv4 address or a bracketed IPv6 address (empty when missing).
    case invalidHost(String)
    /// The port is not a number from 1 to 65535.
    case invalidPort(String)
    /// The repository has upper-case letters; the distribution grammar only allows lower case.
    case uppercaseRepository(String)
    /// The repository does not follow the distribution path-component grammar.
    case invalidRepository(String)
    /// The tag does not match `[\w][\w.-]{0,127}`.
    case invalidTag(String)
    /// The digest is not `sha256:`, `sha384:` or `sha512:` followed by the right number of lower-case hex digits.
    case invalidDigest(String)
    /// The registry host and repository together are longer than the grammar's 255 characters.
    case nameTooLong(Int)
    /// The input carries `user[:password]@`; it is refused without being echoed.
    case userinfoNotAllowed
    /// An image reference was written as a URL (`https://…`); references have no scheme.
    case schemeInReference(String)
    /// A server URL uses a scheme other than http or https.
    case unsupportedScheme(String)
    /// A space or control character, which no registry address or reference may contain.
    case invalidCharacter(Unicode.Scalar)
    /// A bare 64-hex-digit string: distribution refuses it because it is an image ID, not a name.
    case imageIDNotReference

    package var description: String {
        switch self {
        case .empty:
            return "no image reference or registry address was given; write one such as "
                + "'registry.example.com/team/app:1.0' or 'registry.example.com:5000'"
        case .invalidHost(let host) where host.isEmpty:
            return "the registry address has no host name; write it as 'registry.example.com' or "
                + "'registry.example.com:5000'"
        case .invalidHost(let host):
            return "'\(host)' is not a valid registry host; use a DNS name, an IPv4 address or a bracketed IPv6 "
                + "address, optionally with a port, such as 'registry.example.com:5000' or '[::1]:5000'"
        case .invalidPort(let port):
            return "'\(port)' is not a valid port; use a number from 1 to 65535, as in 'registry.example.com:5000'"
        case .uppercaseRepository(let repository):
            let lowercase = ReferenceGrammar.lowercased(repository)
            return "repository name '\(repository)' must be lowercase, as in '\(lowercase)'"
        case .invalidRepository(let repository):
            return "'\(repository)' is not a valid repository name; use lowercase letters and digits, joined by '.', "
                + "'_', '__' or '-' and split into components by single '/', as in 'team/my-app'"
        case .invalidTag(let tag):
            return "'\(tag)' is not a valid tag; a tag is 1 to 128 letters, digits, '_', '.' or '-' that does not "
                + "start with '.' or '-', as in '1.0'"
        case .invalidDigest(let digest):
            return "'\(digest)' is not a valid digest; write 'sha256:' and 64 lowercase hex digits "
                + "(or sha384/sha512 with 96/128), as in 'app@sha256:9f86d0…'"
        case .nameTooLong(let length):
            return "the image name is \(length) characters long but registry host and repository together may be "
                + "at most 255"
        case .userinfoNotAllowed:
            return "a registry address must not contain a user name or password; remove the user name and password "
                + "from the URL and store them with 'ocicred' or 'podman login' instead"
        case .schemeInReference(let scheme):
            return "an image reference has no scheme; drop '\(scheme)://' and write it as "
                + "'registry.example.com/team/app:1.0'"
        case .unsupportedScheme(let scheme):
            return "'\(scheme)://' is not a registry scheme; use 'https://', 'http://' or none, as in "
                + "'registry.example.com:5000'"
        case .invalidCharacter(let scalar):
            return "the input contains \(ReferenceGrammar.codePoint(scalar)), and spaces and control characters "
                + "are not allowed; write it as 'registry.example.com/team/app:1.0'"
        case .imageIDNotReference:
            return "a 64-hex-digit image ID is not an image reference; name the image as 'team/app:1.0' or "
                + "'team/app@sha256:…'"
        }
    }
}
