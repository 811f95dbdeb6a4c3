/// An image reference, normalised the way docker and podman normalise what a user types.
///
/// The grammar is github.com/distribution/reference (`reference.go`, `normalize.go`): `ubuntu` is
/// `docker.io/library/ubuntu:latest`; the first component is a registry host when it contains `.` or `:`, is
/// `localhost`, or has upper-case letters (distribution's rule: namespaces are lowercase, so an upper-case first
/// component can only be a host); `index.docker.io` is the legacy name of `docker.io`. A reference with a digest
/// and no tag keeps `tag == nil`, as docker's `TagNameOnly` only adds `latest` when neither is given.
///
/// Encoded as its one-line string form, and decoded by parsing it, so a stored reference is always valid.
package struct Reference: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The registry host with an optional port, as written (`docker.io` for Docker Hub).
    package let host: String
    /// The repository path, `library/ubuntu` for a Docker Hub official image.
    package let repository: String
    package let tag: String?
    package let digest: String?

    init(host: String, repository: String, tag: String?, digest: String?) {
        self.host = host
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    package var description: String {
        var text = host + "/" + repository
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest }
        return text
    }

    package static func parse(_ string: String) throws(ReferenceError) -> Reference {
        if string.isEmpty { throw .empty }
        if let scalar = ReferenceGrammar.firstSpaceOrControl(in: string) { throw .invalidCharacter(scalar) }
        let bytes = Array(string.utf8)[...]

        if let schemeEnd = ReferenceGrammar.schemeSeparator(in: bytes) {
            // A URL: its user information must not be echoed back in the scheme error.
            if bytes.contains(ReferenceGrammar.at) { throw .userinfoNotAllowed }
            throw .schemeInReference(ReferenceGrammar.text(bytes[..<schemeEnd]))
        }

        var nameAndTag = bytes
        var digest: String?
        if let at = bytes.firstIndex(of: ReferenceGrammar.at) {
            let afterAt = bytes[(at + 1)...]
            // `user:password@registry.example.com/app` is a login URL, not `name@digest`; a digest never holds
            // a '/', nor a '.' without an algorithm ':'. Refuse it before any message could quote the password.
            if afterAt.contains(ReferenceGrammar.slash)
                || (afterAt.contains(ReferenceGrammar.dot) && !afterAt.contains(ReferenceGrammar.colon))
            {
                throw .userinfoNotAllowed
            }
            guard ReferenceGrammar.isDigest(afterAt) else { throw .invalidDigest(ReferenceGrammar.text(afterAt)) }
            digest = ReferenceGrammar.text(afterAt)
            nameAndTag = bytes[..<at]
        }

        var nameBytes = nameAndTag
        var tag: String?
        let lastSlash = nameAndTag.lastIndex(of: ReferenceGrammar.slash) ?? nameAndTag.startIndex - 1
        if let colon = nameAndTag.lastIndex(of: ReferenceGrammar.colon), colon > lastSlash {
            let tagBytes = nameAndTag[(colon + 1)...]
            guard ReferenceGrammar.isTag(tagBytes) else { throw .invalidTag(ReferenceGrammar.text(tagBytes)) }
            tag = ReferenceGrammar.text(tagBytes)
            nameBytes = nameAndTag[..<colon]
        }

        // distribution refuses a bare image ID (`anchoredIdentifierRegexp`) so it is not taken for a repository.
        if tag == nil, digest == nil, ReferenceGrammar.isLowerHex(nameBytes, count: 64) {
            throw .imageIDNotReference
        }

        var hostBytes: ArraySlice<UInt8>?
        var remainder = nameBytes
        if let slash = nameBytes.firstIndex(of: ReferenceGrammar.slash) {
            let first = nameBytes[..<slash]
            if ReferenceGrammar.isHostComponent(first) {
                hostBytes = first
                remainder = nameBytes[(slash + 1)...]
            }
        }

        var host = ReferenceGrammar.dockerHubDomain
        if let hostBytes {
            try ReferenceGrammar.validateDomain(hostBytes)
            host = ReferenceGrammar.text(hostBytes)
            if host == ReferenceGrammar.legacyDockerHubDomain { host = ReferenceGrammar.dockerHubDomain }
        }

        var repository = ReferenceGrammar.text(remainder)
        if host == ReferenceGrammar.dockerHubDomain, !remainder.contains(ReferenceGrammar.slash) {
            repository = "library/" + repository
        }
        if remainder.contains(where: ReferenceGrammar.isUppercase) { throw .uppercaseRepository(repository) }
        guard ReferenceGrammar.isRepositoryPath(remainder) else { throw .invalidRepository(repository) }

        let nameLength = host.utf8.count + 1 + repository.utf8.count
        guard nameLength <= ReferenceGrammar.nameTotalLengthMax else { throw .nameTooLong(nameLength) }

        if tag == nil, digest == nil { tag = "latest" }
        return Reference(host: host, repository: repository, tag: tag, digest: digest)
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try Reference.parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Byte-level scanners for the distribution reference grammar, shared by `Reference` and `CredentialKey`.
///
/// Hand-written over UTF-8 rather than regular expressions: the helper runs once per registry per podman
/// operation, and this keeps Foundation and the regex engine off its start-up path.
enum ReferenceGrammar {
    static let dockerHubDomain = "docker.io"
    static let legacyDockerHubDomain = "index.docker.io"
    /// `NameTotalLengthMax` in distribution/reference.
    static let nameTotalLengthMax = 255

    static let slash = UInt8(ascii: "/")
    static let colon = UInt8(ascii: ":")
    static let dot = UInt8(ascii: ".")
    static let at = UInt8(ascii: "@")
    static let dash = UInt8(ascii: "-")
    static let underscore = UInt8(ascii: "_")

    static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isLowerLetter(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
    static func isUppercase(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
    static func isLowerAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isLowerLetter(byte) }
    static func isAlphanumeric(_ byte: UInt8) -> Bool { isLowerAlphanumeric(byte) || isUppercase(byte) }
    static func isWordCharacter(_ byte: UInt8) -> Bool { isAlphanumeric(byte) || byte == underscore }
    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
    }

    static func lowercased(_ string: String) -> String {
        String(decoding: string.utf8.map { isUppercase($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// `U+0020`-style name of a scalar, so a message can point at an invisible character without printing it.
    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    static func firstSpaceOrControl(in string: String) -> Unicode.Scalar? {
        string.unicodeScalars.first { scalar in
            // Unicode's property tables only for what is not ASCII: every ASCII space is <= 0x20.
            scalar.value <= 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F)
                || (scalar.value > 0x9F && scalar.properties.isWhitespace)
        }
    }

    /// The index of `://` when what precedes it is a URL scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / + - . )).
    static func schemeSeparator(in bytes: ArraySlice<UInt8>) -> Int? {
        guard let index = bytes.firstIndex(of: colon), index > bytes.startIndex,
            bytes[index...].starts(with: [colon, slash, slash])
        else { return nil }
        let scheme = bytes[..<index]
        guard let first = scheme.first, isLowerLetter(first) || isUppercase(first),
            scheme.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "+") || $0 == dash || $0 == dot })
        else { return nil }
        return index
    }

    /// distribution's `splitDockerDomain`: whether the first of several components names a registry.
    static func isHostComponent(_ component: ArraySlice<UInt8>) -> Bool {
        component.elementsEqual("localhost".utf8) || component.contains(dot) || component.contains(colon)
            || component.contains(where: isUppercase)
    }

    /// `domain` in the grammar: a DNS name, IPv4 address or `[IPv6]`, then an optional `:port`.
    /// distribution accepts any digits as a port; we also refuse 0 and values past 65535, which no registry
    /// can listen on, so the mistake is reported here rather than as a connection failure.
    static func validateDomain(_ domain: ArraySlice<UInt8>) throws(ReferenceError) {
        var hostEnd: Int
        if domain.first == UInt8(ascii: "[") {
            guard let close = domain.firstIndex(of: UInt8(ascii: "]")) else { throw .invalidHost(text(domain)) }
            let address = domain[(domain.startIndex + 1)..<close]
            guard !address.isEmpty, address.contains(colon),
                address.allSatisfy({ isHexDigit($0) || $0 == colon })
            else { throw .invalidHost(text(domain)) }
            hostEnd = close + 1
        } else {
            hostEnd = domain.firstIndex(of: colon) ?? domain.endIndex
            let name = domain[..<hostEnd]
            guard isDomainName(name) else { throw .invalidHost(text(name)) }
        }
        guard hostEnd < domain.endIndex else { return }
        guard domain[hostEnd] == colon else { throw .invalidHost(text(domain)) }
        let port = domain[(hostEnd + 1)...]
        guard isPort(port) else { throw .invalidPort(text(port)) }
    }

    static func isPort(_ port: ArraySlice<UInt8>) -> Bool {
        guard !port.isEmpty, port.count <= 5, port.allSatisfy(isDigit) else { return false }
        let value = port.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return (1...65535).contains(value)
    }

    /// `domain-name`: components of `[a-zA-Z0-9]` with inner `-`, joined by single dots.
    static func isDomainName(_ name: ArraySlice<UInt8>) -> Bool {
        guard !name.isEmpty else { return false }
        return name.split(separator: dot, omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.first, let last = label.last else { return false }
            guard isAlphanumeric(first), isAlphanumeric(last) else { return false }
            return label.allSatisfy { isAlphanumeric($0) || $0 == dash }
        }
    }

    /// `path-component`: `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
    static func isPathComponent(_ component: ArraySlice<UInt8>) -> Bool {
        var index = component.startIndex
        let end = component.endIndex
        func alphanumericRun() -> Bool {
            let start = index
            while index < end, isLowerAlphanumeric(component[index]) { index += 1 }
            return index > start
        }
        guard alphanumericRun() else { return false }
        while index < end {
            switch component[index] {
            case dot:
                index += 1
            case underscore:
                index += 1
                if index < end, component[index] == underscore { index += 1 }
            case dash:
                while index < end, component[index] == dash { index += 1 }
            default:
                return false
            }
            guard alphanumericRun() else { return false }
        }
        return true
    }

    static func isRepositoryPath(_ path: ArraySlice<UInt8>) -> Bool {
        !path.isEmpty && path.split(separator: slash, omittingEmptySubsequences: false).allSatisfy(isPathComponent)
    }

    /// `tag`: `[\w][\w.-]{0,127}`.
    static func isTag(_ tag: ArraySlice<UInt8>) -> Bool {
        guard let first = tag.first, isWordCharacter(first), tag.count <= 128 else { return false }
        return tag.allSatisfy { isWordCharacter($0) || $0 == dot || $0 == dash }
    }

    /// A digest go-digest would accept: the registered algorithms only, each with its exact length of lower-case
    /// hex (`Algorithm.Validate`); the grammar alone would let through digests no registry can serve.
    static func isDigest(_ digest: ArraySlice<UInt8>) -> Bool {
        guard let colon = digest.firstIndex(of: colon) else { return false }
        let algorithm = digest[..<colon]
        let encoded = digest[(colon + 1)...]
        let length: Int
        if algorithm.elementsEqual("sha256".utf8) {
            length = 64
        } else if algorithm.elementsEqual("sha384".utf8) {
            length = 96
        } else if algorithm.elementsEqual("sha512".utf8) {
            length = 128
        } else {
            return false
        }
        return isLowerHex(encoded, count: length)
    }

    static func isLowerHex(_ bytes: ArraySlice<UInt8>, count: Int) -> Bool {
        bytes.count == count && bytes.allSatisfy { isDigit($0) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
