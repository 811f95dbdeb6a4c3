/// Which provider a rule names. `static` hands out credentials read from named environment variables.
public enum ProviderChoice: String, Sendable, Hashable, CaseIterable {
    case aws, gcp, azure, `static`
}

/// One `registries:` entry of the config: which hosts it covers and how their credentials are obtained.
public struct RegistryRule: Sendable, Equatable {
    public var pattern: HostPattern
    /// The provider to use; nil means "as the host kind implies" (with this rule's identity settings).
    public var provider: ProviderChoice?
    /// Another registry whose credentials this host uses: a custom domain or pull-through cache in front of
    /// a real registry.
    public var alias: String?
    public var identity: ProviderIdentity
    /// Names of environment variables holding the credentials (the seeds' `credentials: [USER, TOKEN]`).
    public var credentialVariables: [String]
    /// Where the rule is written, `file:line:column`, for messages that point the user at it.
    public var location: String

    public init(
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
