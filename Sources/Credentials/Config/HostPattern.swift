internal import SystemSupport

/// A registry host pattern from the config: a host (optionally with `:port`) where `*` stands for any run of
/// characters inside one DNS label, so `*.dkr.ecr.*.amazonaws.com` matches every ECR registry but never
/// `evil.example/123.dkr.ecr…` or a host with extra labels. Matching is case-insensitive (DNS is).
package struct HostPattern: Sendable, Hashable, CustomStringConvertible {
    package let text: String
    private let labels: [[UInt8]]

    package init?(_ text: String) {
        let lowered = text.lowercased()
        guard !lowered.isEmpty, !lowered.contains("/"), !lowered.contains(" "), !lowered.contains("**") else {
            return nil
        }
        self.text = lowered
        labels = lowered.split(separator: ".", omittingEmptySubsequences: false).map { Array($0.utf8) }
        if labels.contains(where: \.isEmpty) { return nil }
    }

    package var description: String { text }

    /// Patterns without wildcards win over patterns with them, so an exact rule can carve out one host.
    package var isExact: Bool { !text.contains("*") }

    /// Fewer than two labels that are not wholly `*` (`*`, `*.*`, `*.com`, `*.*.io`): it matches registries of
    /// any domain, which hands one rule's credentials to every registry a pull names.
    package var isOverBroad: Bool {
        labels.filter { !$0.allSatisfy { $0 == UInt8(ascii: "*") } }.count < 2
    }

    package func matches(_ host: String) -> Bool {
        let hostLabels = host.lowercased().split(separator: ".", omittingEmptySubsequences: false).map {
            Array($0.utf8)
        }
        guard hostLabels.count == labels.count else { return false }
        for (pattern, label) in zip(labels, hostLabels) where !Wildcard.matches(pattern, label) {
            return false
        }
        return true
    }
}
