/// Which registry service a host belongs to, deciding which provider (if any) mints its credentials.
///
/// Matching is on whole DNS labels, anchored at both ends: a host that merely contains a provider's name
/// (`gcr.io.evil.example`, `fakegcr.io`) is `.generic`, so cloud credentials are never sent to a look-alike.
package enum HostKind: Hashable, Sendable {
    case ecrPrivate(accountID: String, region: String, fips: Bool)
    case ecrPublic
    case gcr
    case artifactRegistry(location: String)
    case acr
    case ghcr
    case dockerHub
    case ngc
    case generic

    /// Every DNS suffix amazon-ecr-credential-helper's `ecrPattern` (ecr-login/api/client.go) accepts after
    /// `<region>`, covering the commercial, China, EU sovereign and isolated partitions and dual-stack names.
    /// ecr-login accepts either `dkr.ecr` or `dkr-ecr` with any of them, and so do we.
    static let ecrSuffixes: Set<String> = [
        "amazonaws.com", "amazonaws.com.cn", "amazonaws.eu",
        "on.aws", "on.amazonwebservices.com.cn",
        "sc2s.sgov.gov", "c2s.ic.gov", "cloud.adc-e.uk", "csp.hci.ic.gov",
    ]
    /// ECR Public's IPv4 name and its dual-stack name.
    static let ecrPublicHosts: Set<String> = ["public.ecr.aws", "ecr-public.aws.com"]
    static let acrSuffixes: Set<String> = ["io", "cn", "us"]

    package static func classify(host: String) -> HostKind {
        guard let name = hostName(host) else { return .generic }
        if CredentialKey.dockerHubAliases.contains(name) { return .dockerHub }
        if ecrPublicHosts.contains(name) { return .ecrPublic }
        switch name {
        case "ghcr.io": return .ghcr
        case "nvcr.io": return .ngc
        case "gcr.io": return .gcr
        default: break
        }

        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        if let ecr = ecrPrivate(labels) { return ecr }
        if labels.count == 3, isLabel(labels[0]) {
            if labels[1] == "gcr", labels[2] == "io" { return .gcr }
            if labels[1] == "azurecr", acrSuffixes.contains(String(labels[2])) { return .acr }
            // `<location>-docker.pkg.dev`: Artifact Registry's Docker hosts.
            if labels[1] == "pkg", labels[2] == "dev", labels[0].hasSuffix("-docker") {
                let location = labels[0].dropLast("-docker".count)
                if isLabel(location) { return .artifactRegistry(location: String(location)) }
            }
        }
        // `docker.<region>.rep.pkg.dev`: Artifact Registry's regional endpoints.
        if labels.count == 5, labels[0] == "docker", isLabel(labels[1]), labels[2] == "rep", labels[3] == "pkg",
            labels[4] == "dev"
        {
            return .artifactRegistry(location: String(labels[1]))
        }
        return .generic
    }

    /// `<12 digits>.dkr.ecr[-fips].<region>.<suffix>` or `<12 digits>.dkr-ecr[-fips].<region>.<suffix>`.
    static func ecrPrivate(_ labels: [Substring]) -> HostKind? {
        guard labels.count >= 4, labels[0].utf8.count == 12, labels[0].utf8.allSatisfy(ReferenceGrammar.isDigit)
        else { return nil }
        let fips: Bool
        let regionIndex: Int
        switch (labels[1], labels[2]) {
        case ("dkr", "ecr"): (fips, regionIndex) = (false, 3)
        case ("dkr", "ecr-fips"): (fips, regionIndex) = (true, 3)
        case ("dkr-ecr", _): (fips, regionIndex) = (false, 2)
        case ("dkr-ecr-fips", _): (fips, regionIndex) = (true, 2)
        default: return nil
        }
        guard regionIndex + 1 < labels.count else { return nil }
        let region = labels[regionIndex]
        // ecr-login's region class, `[a-zA-Z0-9][a-zA-Z0-9-_]*` (the host is already lower-cased).
        guard let first = region.utf8.first, ReferenceGrammar.isLowerAlphanumeric(first),
            region.utf8.allSatisfy({
                ReferenceGrammar.isLowerAlphanumeric($0) || $0 == ReferenceGrammar.dash
                    || $0 == ReferenceGrammar.underscore
            })
        else { return nil }
        // Concatenated String by String: joining Substrings goes through unspecialised generic code whose
        // associated types are looked up at run time, a scan of every conformance record in the binary.
        var suffix = ""
        for label in labels[(regionIndex + 1)...] {
            if !suffix.isEmpty { suffix.append(".") }
            suffix.append(String(label))
        }
        guard ecrSuffixes.contains(suffix) else { return nil }
        return .ecrPrivate(accountID: String(labels[0]), region: String(region), fips: fips)
    }

    /// The lower-cased host name without its port; nil for IPv6 literals and anything that is no host[:port].
    static func hostName(_ host: String) -> String? {
        let lowered = ReferenceGrammar.lowercased(host)
        guard let colon = lowered.firstIndex(of: ":") else { return lowered.isEmpty ? nil : lowered }
        let name = lowered[..<colon]
        let port = lowered[lowered.index(after: colon)...]
        guard !name.isEmpty, !port.isEmpty, port.utf8.allSatisfy(ReferenceGrammar.isDigit) else { return nil }
        return String(name)
    }

    /// A DNS label: lower-case letters, digits and inner hyphens.
    static func isLabel(_ label: Substring) -> Bool {
        guard let first = label.utf8.first, let last = label.utf8.last,
            ReferenceGrammar.isLowerAlphanumeric(first), ReferenceGrammar.isLowerAlphanumeric(last)
        else { return false }
        return label.utf8.allSatisfy { ReferenceGrammar.isLowerAlphanumeric($0) || $0 == ReferenceGrammar.dash }
    }

    package var providerName: String {
        switch self {
        case .ecrPrivate: return "aws"
        case .ecrPublic: return "aws-public"
        case .gcr, .artifactRegistry: return "gcp"
        case .acr: return "azure"
        case .ghcr: return "github"
        case .dockerHub: return "dockerhub"
        case .ngc: return "ngc"
        case .generic: return "generic"
        }
    }

    /// Whether credentials for this host are short-lived tokens a cloud provider mints from longer-lived material.
    package var isMinted: Bool {
        switch self {
        case .ecrPrivate, .ecrPublic, .gcr, .artifactRegistry, .acr: return true
        case .ghcr, .dockerHub, .ngc, .generic: return false
        }
    }
}
