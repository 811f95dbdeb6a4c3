internal import Credentials
internal import FoundationEssentials
internal import SystemSupport

/// `metav1.MicroTime` on the wire: RFC 3339 in UTC with exactly six fractional digits
/// ("2006-01-02T15:04:05.000000Z07:00", Go's `RFC3339Micro`). The API server parses it with that layout, so a
/// timestamp with three or nine digits is refused; Leases' acquireTime and renewTime use it.
enum MicroTime {
    static func format(_ date: Date) -> String { RFC3339.format(date, fractionDigits: 6) }

    /// Any number of fractional digits and a `Z` or `±hh:mm` offset parse (Go's parser accepts them too): what
    /// another client wrote may be in either form.
    static func parse(_ text: String) -> Date? { RFC3339.parse(text) }
}
