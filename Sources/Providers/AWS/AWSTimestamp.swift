internal import Credentials
internal import FoundationEssentials
internal import SystemSupport

/// SigV4's basic ISO 8601 (`20150830T123600Z`, always UTC). The extended form STS, IMDS, the container
/// endpoint and `credential_process` return is read with Credentials' `RFC3339`.
enum AWSTimestamp {
    /// `("20150830", "20150830T123600Z")`: the credential-scope date and the `X-Amz-Date` value.
    static func sigV4(_ date: Date) -> (day: String, dateTime: String) {
        let dateTime = String(RFC3339.format(date).filter { $0 != "-" && $0 != ":" })
        return (String(dateTime.prefix(8)), dateTime)
    }
}
