internal import Credentials
internal import SystemSupport
internal import Transport

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

        /// Sends one signed call here; a transport failure (unreachable, timed out, TLS) names this endpoint. The
        /// status is the caller's to judge: each service has its own failures worth telling apart.
        func send(_ request: HTTPRequest, with http: any HTTPClient) async throws(ProviderError) -> HTTPResponse {
            do {
                return try await http.send(request)
            } catch {
                throw AWSServiceError.unreachable(error, endpoint: url)
            }
        }
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
