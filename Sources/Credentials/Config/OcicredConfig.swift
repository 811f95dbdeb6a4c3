/// The YAML config (`$OCICRED_CONFIG`, else `$XDG_CONFIG_HOME/ocicred/config.yaml`):
///
/// ```yaml
/// registries:
///   - host: "*.dkr.ecr.*.amazonaws.com"
///     provider: aws
///     aws: { profile: build, roleArn: "arn:aws:iam::123456789012:role/push", region: eu-west-1 }
///   - host: cache.internal.example:5000          # a pull-through cache in front of ECR
///     alias: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
///   - host: ghcr.io
///     provider: static
///     credentials: [GITHUB_USERNAME, GITHUB_TOKEN]
/// ```
package struct OcicredConfig: Sendable, Equatable {
    package var rules: [RegistryRule]
    /// Sections other commands own (`refresh:`), kept as parsed YAML-free values for them to read.
    package var path: String

    package init(rules: [RegistryRule] = [], path: String = "") {
        self.rules = rules
        self.path = path
    }

    /// The rule for `host` (with port, lower-case): an exact pattern wins over wildcards; among equals the
    /// first written wins, as in an ordered list a user reads top-down.
    package func rule(for host: String) -> RegistryRule? {
        let matching = rules.filter { $0.pattern.matches(host) }
        return matching.first(where: \.pattern.isExact) ?? matching.first
    }
}
