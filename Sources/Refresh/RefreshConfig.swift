package import Credentials
package import SystemSupport
internal import Yams

/// The `refresh:` section of the config: where `ocicred refresh` writes the credentials of the registries the
/// `registries:` rules describe, and how eagerly it retries.
///
/// ```yaml
/// refresh:
///   minInterval: 10s            # never two mints of one registry closer than this (an already-expired token)
///   retry: { initial: 5s, max: 5m }
///   outputs:
///     - authFile: { path: /run/ocicred/auth.json, format: containers, registries: [gcr.io] }
///     - secret:
///         name: ocicred-pull
///         namespaceSelector: { include: ["team-*"], exclude: ["kube-*"] }
///         serviceAccounts: [default]
/// ```
/// Durations are a number with `s`, `m` or `h`.
package struct RefreshConfig: Sendable, Equatable {
    package struct AuthFileOutput: Sendable, Equatable {
        package var path: String
        package var format: AuthFileFormat
        /// Registry hosts written to the file; by default every exact host in `registries:`.
        package var registries: [String]
        package init(path: String, format: AuthFileFormat = .containers, registries: [String]) {
            self.path = path
            self.format = format
            self.registries = registries
        }
    }

    package struct SecretOutput: Sendable, Equatable {
        package var name: String
        /// Explicit namespaces; empty means "the selector", or the client's own namespace without one.
        package var namespaces: [String]
        package var namespaceSelector: NamespaceSelector?
        /// Service accounts (in every chosen namespace) that get the Secret in `imagePullSecrets`.
        package var serviceAccounts: [String]
        /// `serviceAccounts: all`: every ServiceAccount of every chosen namespace, those created later included.
        package var allServiceAccounts: Bool
        package var registries: [String]
        /// Whether the controller removes what it wrote from a namespace that leaves the selection (its Secret
        /// and its `imagePullSecrets` entries); `prune: false` leaves them.
        package var prune: Bool
        package init(
            name: String, namespaces: [String] = [], namespaceSelector: NamespaceSelector? = nil,
            serviceAccounts: [String] = [], allServiceAccounts: Bool = false, registries: [String], prune: Bool = true
        ) {
            self.name = name
            self.namespaces = namespaces
            self.namespaceSelector = namespaceSelector
            self.serviceAccounts = serviceAccounts
            self.allServiceAccounts = allServiceAccounts
            self.registries = registries
            self.prune = prune
        }

        /// Whether the namespace `name` with `labels` gets this Secret; `home` is the client's own namespace,
        /// the choice when neither `namespaces` nor `namespaceSelector` is given.
        package func selects(_ name: String, labels: [String: String], home: String) -> Bool {
            if !namespaces.isEmpty { return namespaces.contains(name) }
            guard let namespaceSelector else { return name == home }
            return namespaceSelector.matches(name, labels: labels)
        }
    }

    package enum Output: Sendable, Equatable {
        case authFile(AuthFileOutput)
        case secret(SecretOutput)

        package var registries: [String] {
            switch self {
            case .authFile(let output): return output.registries
            case .secret(let output): return output.registries
            }
        }
    }

    package var outputs: [Output]
    /// Seconds; see `RefreshPolicy`.
    package var minInterval: Double?
    package var retryInitial: Double?
    package var retryMax: Double?

    package init(
        outputs: [Output] = [], minInterval: Double? = nil, retryInitial: Double? = nil, retryMax: Double? = nil
    ) {
        self.outputs = outputs
        self.minInterval = minInterval
        self.retryInitial = retryInitial
        self.retryMax = retryMax
    }

    /// The config of this environment with its `refresh:` section, errors as `ConfigLoader.load` reports them.
    package static func load(environment: OcicredEnvironment) throws(CredentialError) -> (OcicredConfig, RefreshConfig)
    {
        let document = try ConfigLoader.loadDocument(environment: environment)
        do {
            return (document.config, try parse(document))
        } catch {
            throw .config(error)
        }
    }

    /// The `refresh:` section of `document` (empty when it has none), checked against its `registries:`.
    package static func parse(_ document: ConfigDocument) throws(ConfigError) -> RefreshConfig {
        guard let section = document.sections["refresh"] else { return RefreshConfig() }
        let config = document.config
        let exactHosts = config.rules.filter(\.pattern.isExact).map(\.pattern.text)
        let patterns = config.rules.filter { !$0.pattern.isExact }.map(\.pattern.text)
        return try parseRefresh(section, reader: document.reader, defaultRegistries: exactHosts, patterns: patterns)
    }
}

extension RefreshConfig {
    /// `patterns` are the rules' wildcard hosts, named when an output is left with nothing to write.
    static func parseRefresh(_ node: Node, reader: NodeReader, defaultRegistries: [String], patterns: [String])
        throws(ConfigError) -> RefreshConfig
    {
        let map = try reader.mapping(node, what: "`refresh`")
        try reader.checkKeys(map, allowed: ["outputs", "minInterval", "retry"], in: "`refresh`")
        var result = RefreshConfig()
        // Every problem of the section is reported (config validate prints them all), each at its place.
        var problems: [ConfigError] = []
        if let value = map.first(where: { $0.key.string == "minInterval" })?.value {
            do {
                result.minInterval = try reader.duration(value, key: "minInterval")
            } catch {
                problems.append(error)
            }
        }
        if let value = map.first(where: { $0.key.string == "retry" })?.value {
            let retry = try reader.mapping(value, what: "`retry`")
            try reader.checkKeys(retry, allowed: ["initial", "max"], in: "`retry`")
            if let initial = retry.first(where: { $0.key.string == "initial" })?.value {
                result.retryInitial = try reader.duration(initial, key: "initial")
            }
            if let max = retry.first(where: { $0.key.string == "max" })?.value {
                result.retryMax = try reader.duration(max, key: "max")
                if let initial = result.retryInitial, let cap = result.retryMax, cap < initial {
                    throw reader.error(max, "`retry.max` must not be shorter than `retry.initial`")
                }
            }
        }
        if let list = map.first(where: { $0.key.string == "outputs" })?.value {
            guard case .sequence(let entries) = list else {
                throw reader.error(list, "`outputs` must be a list of `- authFile: …` or `- secret: …` entries")
            }
            for entry in entries {
                do {
                    result.outputs.append(
                        try parseOutput(entry, reader: reader, defaultRegistries: defaultRegistries, patterns: patterns)
                    )
                } catch {
                    problems.append(error)
                }
            }
        }
        if let error = ConfigError.combining(problems) { throw error }
        return result
    }

    private static func parseOutput(
        _ node: Node, reader: NodeReader, defaultRegistries: [String], patterns: [String]
    ) throws(ConfigError) -> RefreshConfig.Output {
        let map = try reader.mapping(node, what: "an output")
        try reader.checkKeys(map, allowed: ["authFile", "secret"], in: "an output")
        guard map.count == 1, let (key, value) = map.first, let kind = key.string else {
            throw reader.error(node, "an output is exactly one of `authFile:` or `secret:`")
        }
        let settings = try reader.mapping(value, what: "`\(kind)`")
        if kind == "authFile" {
            try reader.checkKeys(settings, allowed: ["path", "format", "registries"], in: "`authFile`")
            guard let path = try reader.optionalString(settings, "path"), !path.isEmpty else {
                throw reader.error(value, "`authFile` needs `path:`")
            }
            if !path.hasPrefix("/"), let pathNode = settings.first(where: { $0.key.string == "path" })?.value {
                // Relative to whatever directory the sidecar happens to start in: never what a pod spec meant.
                throw reader.error(pathNode, "`path` \"\(path)\" must be absolute, e.g. /run/ocicred/auth.json")
            }
            var format = AuthFileFormat.containers
            if let formatNode = settings.first(where: { $0.key.string == "format" })?.value {
                let name = try reader.string(formatNode, key: "format")
                guard let chosen = AuthFileFormat(rawValue: name) else {
                    throw reader.error(formatNode, "`format` must be containers or docker, not \"\(name)\"")
                }
                format = chosen
            }
            let registries = try registryList(
                settings, value, reader: reader, defaults: defaultRegistries, patterns: patterns)
            return .authFile(.init(path: path, format: format, registries: registries))
        }
        try reader.checkKeys(
            settings,
            allowed: ["name", "namespaces", "namespaceSelector", "serviceAccounts", "registries", "prune"],
            in: "`secret`")
        // Every problem of the entry at its own place: a bad name does not hide a bad namespace beside it.
        var problems: [ConfigError] = []
        var name: String?
        do {
            name = try reader.checked(
                settings, "name", ConfigValueRules.isDNSSubdomain,
                "is not a Secret name the API server accepts: lower-case letters, digits, `-` and `.`, starting and "
                    + "ending with a letter or digit (RFC 1123)")
            if name?.isEmpty ?? true { problems.append(reader.error(value, "`secret` needs `name:`")) }
        } catch {
            problems.append(error)
        }
        var output = RefreshConfig.SecretOutput(name: name ?? "", registries: [])
        do {
            output.registries = try registryList(
                settings, value, reader: reader, defaults: defaultRegistries, patterns: patterns)
        } catch {
            problems.append(error)
        }
        do {
            output.namespaces = try stringList(settings, "namespaces", reader: reader)
        } catch {
            problems.append(error)
        }
        if let listNode = settings.first(where: { $0.key.string == "namespaces" })?.value,
            case .sequence(let items) = listNode
        {
            for item in items where !ConfigValueRules.isDNSLabel(item.string ?? "") {
                problems.append(
                    reader.error(
                        item,
                        "\"\(item.string ?? "")\" is not a namespace name: at most 63 lower-case letters, digits and "
                            + "`-`, starting and ending with a letter or digit (RFC 1123 label)"))
            }
        }
        if let error = ConfigError.combining(problems) { throw error }
        if let accounts = settings.first(where: { $0.key.string == "serviceAccounts" })?.value,
            case .scalar = accounts
        {
            guard accounts.string == "all" else {
                throw reader.error(accounts, "`serviceAccounts` is a list of names, or `all`")
            }
            output.allServiceAccounts = true
        } else {
            output.serviceAccounts = try stringList(settings, "serviceAccounts", reader: reader)
        }
        if let prune = settings.first(where: { $0.key.string == "prune" })?.value {
            guard let value = prune.bool else { throw reader.error(prune, "`prune` must be true or false") }
            output.prune = value
        }
        if let selectorNode = settings.first(where: { $0.key.string == "namespaceSelector" })?.value {
            if !output.namespaces.isEmpty {
                throw reader.error(selectorNode, "give `namespaces` or `namespaceSelector`, not both")
            }
            output.namespaceSelector = try parseSelector(selectorNode, reader: reader)
        }
        return .secret(output)
    }

    /// `include`/`exclude` globs and a Kubernetes label selector, checked as the API server checks one.
    private static func parseSelector(_ node: Node, reader: NodeReader) throws(ConfigError) -> NamespaceSelector {
        let selector = try reader.mapping(node, what: "`namespaceSelector`")
        try reader.checkKeys(
            selector, allowed: ["include", "exclude", "matchLabels", "matchExpressions"], in: "`namespaceSelector`")
        let include = try stringList(selector, "include", reader: reader)
        var result = NamespaceSelector(
            include: include.isEmpty ? ["*"] : include, exclude: try stringList(selector, "exclude", reader: reader))
        if let labels = selector.first(where: { $0.key.string == "matchLabels" })?.value {
            for (key, value) in try reader.mapping(labels, what: "`matchLabels`") {
                guard let name = key.string else { throw reader.error(key, "a label key must be a string") }
                result.matchLabels[name] = try reader.string(value, key: name)
            }
        }
        if let list = selector.first(where: { $0.key.string == "matchExpressions" })?.value {
            guard case .sequence(let entries) = list else {
                throw reader.error(list, "`matchExpressions` must be a list of {key, operator, values}")
            }
            for entry in entries {
                let map = try reader.mapping(entry, what: "a `matchExpressions` entry")
                try reader.checkKeys(map, allowed: ["key", "operator", "values"], in: "a `matchExpressions` entry")
                guard let key = try reader.optionalString(map, "key"), !key.isEmpty else {
                    throw reader.error(entry, "a `matchExpressions` entry needs `key:`")
                }
                let operatorName = try reader.optionalString(map, "operator") ?? ""
                guard let op = LabelRequirement.Operator(rawValue: operatorName) else {
                    throw reader.error(
                        entry,
                        "`operator` must be one of In, NotIn, Exists, DoesNotExist, not \"\(operatorName)\"")
                }
                let values = try stringList(map, "values", reader: reader)
                let needsValues = op == .in || op == .notIn
                if needsValues && values.isEmpty {
                    throw reader.error(entry, "`operator: \(op.rawValue)` needs a non-empty `values` list")
                }
                if !needsValues && !values.isEmpty {
                    throw reader.error(entry, "`operator: \(op.rawValue)` takes no `values`")
                }
                result.matchExpressions.append(LabelRequirement(key: key, operator: op, values: values))
            }
        }
        return result
    }

    /// An output without `registries:` writes the rules' exact hosts. A wildcard rule resolves whatever host it
    /// matches when asked, but a refresh writes ahead of time and cannot tell which hosts those will be, so rules
    /// that are all wildcards leave such an output nothing to write: an error that says where the hosts go.
    private static func registryList(
        _ settings: [(key: Node, value: Node)], _ owner: Node, reader: NodeReader, defaults: [String],
        patterns: [String]
    ) throws(ConfigError) -> [String] {
        guard let listNode = settings.first(where: { $0.key.string == "registries" })?.value else {
            guard !defaults.isEmpty else {
                if !patterns.isEmpty {
                    throw reader.error(
                        owner,
                        "no registries to write: the hosts of the top-level `registries:` are all wildcards ("
                            + patterns.joined(separator: ", ")
                            + "), which a refresh cannot write ahead of time; list the registry hosts this output "
                            + "should hold under its `registries:`")
                }
                throw reader.error(
                    owner,
                    "no registries to write: list the registry hosts this output should hold under its "
                        + "`registries:`, or add rules with exact hosts to the top-level `registries:`")
            }
            return defaults
        }
        guard case .sequence(let items) = listNode, !items.isEmpty else {
            throw reader.error(listNode, "`registries` must be a non-empty list of registry hosts")
        }
        var hosts = [String]()
        for item in items {
            let host = try reader.string(item, key: "registries")
            guard let key = try? CredentialKey(serverURL: host) else {
                throw reader.error(item, "\"\(host)\" is not a registry host")
            }
            hosts.append(key.description)
        }
        return hosts
    }

    private static func stringList(_ map: [(key: Node, value: Node)], _ key: String, reader: NodeReader)
        throws(ConfigError) -> [String]
    {
        guard let node = map.first(where: { $0.key.string == key })?.value else { return [] }
        guard case .sequence(let items) = node else { throw reader.error(node, "`\(key)` must be a list") }
        var values = [String]()
        for item in items { values.append(try reader.string(item, key: key)) }
        return values
    }

    /// `90`, `90s`, `15m`, `1h`: seconds as a Double, positive.
}
