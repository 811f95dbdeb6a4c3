/// Which provider a rule names. `static` hands out credentials read from named environment variables.
package enum ProviderChoice: String, Sendable, Hashable, CaseIterable {
    case aws, gcp, azure, `static`
}

/// One `registries:` entry of the config: which hosts it covers and how their credentials are obtained.
package struct RegistryRule: Sendable, Equatable {
    package var pattern: HostPattern
    /// The provider to use; nil means "as the host kind implies" (with this rule's identity settings).
    package var provider: ProviderChoice?
    /// Another registry whose credentials this host uses: a custom domain or pull-through cache in front of
    /// a real registry.
    package var alias: String?
    package var identity: ProviderIdentity
    /// Names of environment variables holding the credentials (the seeds' `credentials: [USER, TOKEN]`).
    package var credentialVariables: [String]
    /// Where the rule is written, `file:line:column`, for messages that point the user at it.
    package var location: String

    package init(
        pattern: HostPattern, provider: ProviderChoice? = nil, alias: String? = nil,
        identity: ProviderIdentity = .init(), credentialVariables: [String] = [], location: String = ""
    ) {
        self.pattern = pattern
        self.provider = provider
        self.alias = alias
        self.identity = identity
        self.credentialVariables = credentialVariables
        self.location = location
    }
}
