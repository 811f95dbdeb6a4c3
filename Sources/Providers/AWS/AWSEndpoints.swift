import Credentials
import SystemSupport

/// The parts of an endpoint URL that signing and endpoint resolution need. Deliberately small: AWS endpoints are
/// `scheme://host[:port][/path][?query]`, and the HTTP client gets the URL string untouched.
struct AWSURL: Equatable {
    var scheme: String
    /// Host as written, IPv6 literals keep their brackets.
    var host: String
    var port: Int?
    var path: String
    var query: String

    init?(_ text: String) {
        guard let schemeEnd = text.range(of: "://") else { return nil }
        scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var rest = text[schemeEnd.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let tail = rest[authorityEnd...]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[...close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = nil
            } else {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else { return nil }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let number = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = number
        } else {
            host = String(authority)
            port = nil
        }
        guard !host.isEmpty else { return nil }
        if let question = tail.firstIndex(of: "?") {
            path = String(tail[..<question])
            query = String(tail[tail.index(after: question)...])
        } else {
            path = String(tail)
            query = ""
        }
        if path.isEmpty { path = "/" }
    }

    /// The `Host` header an HTTP client sends: the port only when it is not the scheme's default (RFC 9110 §7.2).
    var hostHeader: String {
        guard let port, port != (scheme == "https" ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }

    /// Whether the host is a loopback address or name (`127.0.0.0/8`, `::1`, `localhost`).
    var isLoopback: Bool {
        let name = host.lowercased()
        if name == "localhost" || name == "[::1]" { return true }
        let octets = name.split(separator: ".")
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    /// `scheme://host[:port]` with `path` appended to this URL's path.
    func appending(path suffix: String) -> String {
        var base = path.hasSuffix("/") ? String(path.dropLast()) : path
        if !suffix.hasPrefix("/") { base += "/" }
        let authority = port.map { "\(host):\($0)" } ?? host
        return "\(scheme)://\(authority)\(base)\(suffix)" + (query.isEmpty ? "" : "?\(query)")
    }
}

/// Where each AWS call goes and under which signing name and region, as the SDKs resolve it: the partition's DNS
/// suffix from the region, FIPS variants, and the endpoint overrides of the SDKs' "service-specific endpoints"
/// feature (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): `AWS_ENDPOINT_URL_<ID>`
/// beats `AWS_ENDPOINT_URL`, and `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` turns both off.
struct AWSEndpoints: Sendable {
    let environment: OcicredEnvironment

    struct Endpoint: Equatable, Sendable {
        var url: String
        var region: String
        var signingName: String
    }

    /// ECR private, in the registry's region. ecr-login builds its client for the host's region and turns FIPS on
    /// for `-fips` hosts; we do the same. Endpoints from the SDKs' partition data: `api.ecr.<region>.<suffix>`,
    /// FIPS `ecr-fips.<region>.<suffix>`.
    func ecr(region: String, fips: Bool) -> Endpoint {
        let url =
            override("ECR")
            ?? (fips
                ? "https://ecr-fips.\(region).\(Self.dnsSuffix(region: region))"
                : "https://api.ecr.\(region).\(Self.dnsSuffix(region: region))")
        return Endpoint(url: url, region: region, signingName: "ecr")
    }

    /// ECR Public's API lives only in us-east-1 and signs as `ecr-public` (its registry is global).
    func ecrPublic() -> Endpoint {
        Endpoint(
            url: override("ECR_PUBLIC") ?? "https://api.ecr-public.us-east-1.amazonaws.com", region: "us-east-1",
            signingName: "ecr-public")
    }

    /// STS's regional endpoint (the SDKs' default since 2022: `sts_regional_endpoints=regional`).
    /// `AWS_USE_FIPS_ENDPOINT=true` selects `sts-fips`, which exists in the US regions.
    func sts(region: String) -> Endpoint {
        let fips = environment["AWS_USE_FIPS_ENDPOINT"]?.lowercased() == "true"
        let url =
            override("STS")
            ?? "https://\(fips ? "sts-fips" : "sts").\(region).\(Self.dnsSuffix(region: region))"
        return Endpoint(url: url, region: region, signingName: "sts")
    }

    /// `AWS_ENDPOINT_URL_<SERVICE ID>` (the service id upper-cased, spaces as `_`), else `AWS_ENDPOINT_URL`.
    func override(_ serviceID: String) -> String? {
        if environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true" { return nil }
        return environment["AWS_ENDPOINT_URL_" + serviceID] ?? environment["AWS_ENDPOINT_URL"]
    }

    /// The partition's DNS suffix, from the SDKs' partition regexes (partitions.json).
    static func dnsSuffix(region: String) -> String {
        if region.hasPrefix("cn-") { return "amazonaws.com.cn" }
        if region.hasPrefix("us-isob-") { return "sc2s.sgov.gov" }
        if region.hasPrefix("us-isof-") { return "csp.hci.ic.gov" }
        if region.hasPrefix("us-iso-") { return "c2s.ic.gov" }
        if region.hasPrefix("eu-isoe-") { return "cloud.adc-e.uk" }
        if region.hasPrefix("eusc-") { return "amazonaws.eu" }
        return "amazonaws.com"
    }
}
