/// The shapes the runtime or the API server insists on, checked when the config is read so `config validate`
/// refuses what would fail later: an IAM role ARN STS would reject, a region no AWS partition has, an Azure
/// client id that is not a GUID, Kubernetes object names the API server would refuse.
package enum ConfigValueRules {
    /// The AWS partitions' ARN names (aws, aws-cn, aws-us-gov, the ISO partitions and the European Sovereign
    /// Cloud), as the AWS SDKs' partitions.json lists them.
    static let awsPartitions = [
        "aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc",
    ]
    /// The area prefixes of every AWS region name (`us-east-1`, `cn-north-1`, `eusc-de-east-1`, …).
    static let awsRegionAreas = ["af", "ap", "ca", "cn", "eu", "eusc", "il", "me", "mx", "sa", "us"]

    /// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME` — the only ARN AssumeRole takes.
    package static func isRoleARN(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", awsPartitions.contains(String(parts[1])), parts[2] == "iam",
            parts[3].isEmpty, parts[4].count == 12, parts[4].allSatisfy(\.isASCIIDigit), parts[5].hasPrefix("role/")
        else { return false }
        let name = parts[5].dropFirst("role/".count)
        return !name.isEmpty && !name.hasSuffix("/")
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+=,.@_-/".contains($0)) }
    }

    /// AREA[-gov|-iso|-isob|-isoe|-isof]-DIRECTION-N, e.g. us-east-1, us-gov-west-1, cn-northwest-1; `mars-1` and
    /// `us-east` are not regions.
    package static func isAWSRegion(_ text: String) -> Bool {
        var parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, awsRegionAreas.contains(parts[0]), let number = parts.last, !number.isEmpty,
            number.allSatisfy(\.isASCIIDigit)
        else { return false }
        parts.removeFirst()
        parts.removeLast()
        if parts.count == 2 {
            guard ["gov", "iso", "isob", "isoe", "isof"].contains(parts[0]) else { return false }
            parts.removeFirst()
        }
        guard parts.count == 1, let direction = parts.first else { return false }
        return !direction.isEmpty && direction.allSatisfy { $0.isASCII && $0.isLowercase }
    }

    /// 8-4-4-4-12 hexadecimal digits: what Entra ID gives an application (client) id.
    package static func isGUID(_ text: String) -> Bool {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        return groups.map(\.count) == [8, 4, 4, 4, 12] && groups.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }

    /// An RFC 1123 label (a namespace's name): at most 63 of a-z, 0-9 and `-`, starting and ending alphanumeric.
    package static func isDNSLabel(_ text: String) -> Bool {
        guard (1...63).contains(text.utf8.count), let first = text.first, let last = text.last,
            first.isLowercaseAlphanumeric, last.isLowercaseAlphanumeric
        else { return false }
        return text.allSatisfy { $0.isLowercaseAlphanumeric || $0 == "-" }
    }

    /// An RFC 1123 subdomain (a Secret's name): at most 253 characters, dot-separated labels of a-z, 0-9 and `-`.
    package static func isDNSSubdomain(_ text: String) -> Bool {
        guard (1...253).contains(text.utf8.count) else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            guard let first = $0.first, let last = $0.last else { return false }
            return first.isLowercaseAlphanumeric && last.isLowercaseAlphanumeric
                && $0.allSatisfy { $0.isLowercaseAlphanumeric || $0 == "-" }
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
    fileprivate var isLowercaseAlphanumeric: Bool { isASCII && (isLowercase || isNumber) }
}
