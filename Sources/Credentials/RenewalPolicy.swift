package import FoundationEssentials

/// When a token with a known lifetime is replaced: its expiry minus a margin of `fraction` of the lifetime,
/// raised to at least `floor` seconds and kept to at most `ceiling` seconds or `ceilingFraction` of the
/// lifetime. One rule, three settings, each with its reason:
/// - `credential` (the shared token cache, DESIGN.md): 10 % or 5 minutes, whichever is more — a 12 h ECR token is
///   renewed 72 minutes early, a 1 h GCP token 6;
/// - `sidecar` (`ocicred refresh`): the same, but never more than half the lifetime, else a 20 s token would be
///   due before it was minted and be re-minted at every pass;
/// - `registryToken` (a registry's bearer tokens, minutes long): 10 %, at most 30 s, so a request never leaves
///   with a token that dies on the way.
package struct RenewalPolicy: Sendable, Equatable {
    package var fraction: Double
    package var floor: TimeInterval
    package var ceiling: TimeInterval
    package var ceilingFraction: Double

    package static let credential = RenewalPolicy(
        fraction: 0.1, floor: 300, ceiling: .infinity, ceilingFraction: .infinity)
    package static let sidecar = RenewalPolicy(fraction: 0.1, floor: 300, ceiling: .infinity, ceilingFraction: 0.5)
    package static let registryToken = RenewalPolicy(fraction: 0.1, floor: 0, ceiling: 30, ceilingFraction: .infinity)

    package func renewAt(issuedAt: Date, expiresAt: Date) -> Date {
        let lifetime = max(0, expiresAt.timeIntervalSince(issuedAt))
        let margin = min(max(lifetime * fraction, floor), ceiling, lifetime * ceilingFraction)
        return expiresAt.addingTimeInterval(-margin)
    }
}
