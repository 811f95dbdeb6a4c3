internal import SystemSupport
package import Yams

/// Reads the YAML config into `OcicredConfig`, checking every key and type and reporting the first problem
/// with file:line:column. Unknown keys are errors, not ignored: a misspelt `rolearn` that silently does
/// nothing would mint with the wrong identity.
package enum ConfigParser {
    /// Top-level sections other targets own and check (`refresh:` in Refresh); every command accepts them, so
    /// one file serves every command, while a misspelt section is still an error everywhere.
    package static let sectionsOwnedElsewhere = ["refresh", "kubelet", "mount"]

    package static func parse(_ text: String, file: String) throws(ConfigError) -> OcicredConfig {
        try parseDocument(text, file: file).config
    }

    /// The config with the sections other targets own, for them to check (`RefreshConfig.parse`); every problem of
    /// the file in one error (its `others`), the first leading.
    package static func parseDocument(_ text: String, file: String) throws(ConfigError) -> ConfigDocument {
        let (document, problems) = try parseDocumentCollecting(text, file: file)
        if let error = ConfigError.combining(problems) { throw error }
        return document
    }

    /// The document (without the rules that failed) and the problems found, so `config validate` can go on to
    /// check the other sections; throws only when the file cannot be read as a config at all.
    package static func parseDocumentCollecting(_ text: String, file: String) throws(ConfigError)
        -> (ConfigDocument, [ConfigError])
    {
        // libyaml stops at a NUL without saying where it is; say it, as the line and column a user can find.
        if let nul = text.utf8.firstIndex(of: 0) {
            let before = text.utf8[..<nul]
            let line = before.filter { $0 == 0x0A }.count + 1
            let column =
                before.count
                - (before.lastIndex(of: 0x0A).map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0) + 1
            throw ConfigError(file: file, line: line, column: column, message: "a NUL byte; the config must be text")
        }
        // No file, or only blank lines: nothing to compose. Yams's resolver compiles its regular expressions (ICU)
        // on first use, which was half of a cached `get`'s instructions for a config that holds no rule.
        if text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return (
                ConfigDocument(config: OcicredConfig(path: file), sections: [:], reader: NodeReader(file: file)), []
            )
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error, file: file, text: text)
        } catch {
            throw ConfigError(file: file, line: 1, column: 1, message: "cannot read YAML: \(error)")
        }
        let reader = NodeReader(file: file)
        guard let root else {
            return (ConfigDocument(config: OcicredConfig(path: file), sections: [:], reader: reader), [])
        }
        let top = try reader.mapping(root, what: "the config")
        var problems: [ConfigError] = []
        do {
            try reader.checkKeys(top, allowed: ["version", "registries"] + sectionsOwnedElsewhere, in: "the config")
        } catch {
            problems.append(error)
        }
        if let version = top.first(where: { $0.key.string == "version" })?.value, version.int != 1 {
            problems.append(reader.error(version, "`version` must be 1 (the only config version this ocicred reads)"))
        }
        var rules = [RegistryRule]()
        var ruleNodes = [Node]()
        var warnings = [String]()
        if let list = top.first(where: { $0.key.string == "registries" })?.value {
            guard case .sequence(let entries) = list else {
                throw reader.error(list, "`registries` must be a list of rules (`- host: …`)")
            }
            var seen: [String: String] = [:]
            for entry in entries {
                let rule: RegistryRule
                do {
                    rule = try parseRule(entry, reader: reader, problems: &problems)
                } catch {
                    problems.append(error)
                    continue
                }
                if let earlier = seen[rule.pattern.text] {
                    problems.append(
                        reader.error(
                            entry, "host `\(rule.pattern.text)` already has the rule at \(earlier); merge the two"))
                    continue
                }
                seen[rule.pattern.text] = rule.location
                if rule.pattern.isOverBroad {
                    warnings.append(
                        "\(rule.location): `host: \(rule.pattern.text)` matches hosts of any domain; name the registries"
                    )
                }
                rules.append(rule)
                ruleNodes.append(entry)
            }
        }
        let config = OcicredConfig(rules: rules, path: file)
        for (rule, node) in zip(rules, ruleNodes) where rule.alias != nil {
            do {
                warnings += try checkAliases(from: rule, at: node, in: config, reader: reader)
            } catch {
                problems.append(error)
            }
        }
        var sections: [String: Node] = [:]
        for (key, value) in top {
            if let name = key.string, sectionsOwnedElsewhere.contains(name) { sections[name] = value }
        }
        return (ConfigDocument(config: config, sections: sections, reader: reader, warnings: warnings), problems)
    }

    /// A value whose problem does not stop the rest of its rule from being read: recorded, and nil.
    static func soft(_ problems: inout [ConfigError], _ read: () throws(ConfigError) -> String?) -> String? {
        do {
            return try read()
        } catch {
            problems.append(error)
            return nil
        }
    }

    /// Follows `rule`'s alias the way the resolver will: a loop, or a chain longer than the resolver follows,
    /// is an error here rather than at the first `get`; an alias to a host that no rule covers and no provider
    /// mints for is a warning (its credentials can only come from the store or an auth file).
    static func checkAliases(from rule: RegistryRule, at node: Node, in config: OcicredConfig, reader: NodeReader)
        throws(ConfigError) -> [String]
    {
        var chain = [rule.pattern.text]
        var current = rule
        while let alias = current.alias {
            let host = (try? CredentialKey(serverURL: alias))?.host ?? alias
            if chain.contains(host) || chain.count > Resolver.maxAliasDepth {
                throw reader.error(
                    node,
                    "`alias` forms a loop or a chain longer than \(Resolver.maxAliasDepth): "
                        + (chain + [host]).joined(separator: " → ") + "; point `alias` at a real registry")
            }
            chain.append(host)
            guard let next = config.rule(for: host) else {
                if HostKind.classify(host: host).isMinted { return [] }
                return [
                    "\(rule.location): `alias: \(alias)` points at a host no rule covers and no provider mints for; "
                        + "its credentials can only come from the store or an auth file"
                ]
            }
            current = next
        }
        return []
    }

    private static func parseRule(_ node: Node, reader: NodeReader, problems: inout [ConfigError])
        throws(ConfigError) -> RegistryRule
    {
        let map = try reader.mapping(node, what: "a registry rule")
        try reader.checkKeys(
            map, allowed: ["host", "provider", "alias", "aws", "gcp", "azure", "credentials"],
            in: "a registry rule")
        guard let hostNode = map.first(where: { $0.key.string == "host" })?.value else {
            throw reader.error(node, "a registry rule needs `host:` (a host name, `*` allowed within a label)")
        }
        let hostText = try reader.string(hostNode, key: "host")
        guard let pattern = HostPattern(hostText) else {
            throw reader.error(hostNode, "`host` \"\(hostText)\" is not a host pattern; write e.g. `*.azurecr.io`")
        }
        var rule = RegistryRule(pattern: pattern, location: reader.location(node))
        if let value = map.first(where: { $0.key.string == "provider" })?.value {
            let name = try reader.string(value, key: "provider")
            guard let choice = ProviderChoice(rawValue: name) else {
                throw reader.error(
                    value,
                    "`provider` must be one of "
                        + ProviderChoice.allCases.map(\.rawValue).joined(separator: ", ") + ", not \"\(name)\"")
            }
            rule.provider = choice
        }
        if let value = map.first(where: { $0.key.string == "alias" })?.value {
            let alias = try reader.string(value, key: "alias")
            guard (try? CredentialKey(serverURL: alias)) != nil else {
                throw reader.error(value, "`alias` \"\(alias)\" is not a registry host")
            }
            if rule.provider != nil {
                throw reader.error(value, "a rule with `alias` takes the alias's provider; remove `provider`")
            }
            rule.alias = alias
        }
        for (section, provider) in [("aws", ProviderChoice.aws), ("gcp", .gcp), ("azure", .azure)] {
            guard let value = map.first(where: { $0.key.string == section })?.value else { continue }
            if let chosen = rule.provider, chosen != provider {
                throw reader.error(value, "`\(section)` settings on a rule whose provider is \(chosen.rawValue)")
            }
            let settings = try reader.mapping(value, what: "`\(section)`")
            switch provider {
            case .aws:
                try reader.checkKeys(settings, allowed: ["profile", "roleArn", "region"], in: "`aws`")
                rule.identity.awsProfile = try reader.optionalString(settings, "profile")
                rule.identity.awsRoleARN = soft(&problems) { () throws(ConfigError) in
                    try reader.checked(
                        settings, "roleArn", ConfigValueRules.isRoleARN,
                        "is not an IAM role ARN; write arn:aws:iam::123456789012:role/NAME")
                }
                rule.identity.awsRegion = soft(&problems) { () throws(ConfigError) in
                    try reader.checked(
                        settings, "region", ConfigValueRules.isAWSRegion,
                        "is not an AWS region; write one such as us-east-1, eu-central-1 or cn-north-1")
                }
            case .gcp:
                try reader.checkKeys(settings, allowed: ["keyFile", "impersonate"], in: "`gcp`")
                rule.identity.gcpKeyFile = try reader.optionalString(settings, "keyFile")
                rule.identity.gcpImpersonate = try reader.optionalString(settings, "impersonate")
            default:
                try reader.checkKeys(settings, allowed: ["clientId", "tenantId"], in: "`azure`")
                rule.identity.azureClientID = soft(&problems) { () throws(ConfigError) in
                    try reader.checked(
                        settings, "clientId", ConfigValueRules.isGUID,
                        "is not an Entra ID application (client) id; write its GUID, "
                            + "e.g. 00000000-0000-0000-0000-000000000000")
                }
                rule.identity.azureTenantID = try reader.optionalString(settings, "tenantId")
            }
            if rule.provider == nil && rule.alias == nil { rule.provider = provider }
        }
        if let value = map.first(where: { $0.key.string == "credentials" })?.value {
            guard case .sequence(let names) = value, !names.isEmpty else {
                throw reader.error(
                    value,
                    "`credentials` must be a list of environment variable names, "
                        + "e.g. [GITHUB_USERNAME, GITHUB_TOKEN]")
            }
            for name in names {
                let variable = try reader.string(name, key: "credentials")
                guard isVariableName(variable) else {
                    // Not quoted back: what was pasted here may be the secret itself.
                    throw reader.error(
                        name,
                        "this `credentials` entry is not an environment variable name "
                            + "(upper-case letters, digits and _, not starting with a digit); name the variable, not its value"
                    )
                }
                rule.credentialVariables.append(variable)
            }
            if let chosen = rule.provider, chosen != .static {
                throw reader.error(value, "`credentials` belong to `provider: static`, not \(chosen.rawValue)")
            }
            rule.provider = .static
            try checkStaticVariables(rule, at: value, reader: reader)
        } else if rule.provider == .static {
            throw reader.error(node, "`provider: static` needs `credentials: [USER_VARIABLE, SECRET_VARIABLE]`")
        }
        return rule
    }

    /// What `Resolver.staticCredential` will do with these names, decided now on placeholder values: two names
    /// are [username, secret]; other counts must be credential material a static credential comes from (one
    /// NGC_API_KEY, say), or the first `get` would fail where `config validate` said ok.
    static func checkStaticVariables(_ rule: RegistryRule, at node: Node, reader: NodeReader) throws(ConfigError) {
        let names = rule.credentialVariables
        if names.count == 2 { return }
        var values = [String: JSONValue]()
        for name in names { values[name] = .string("placeholder") }
        if let material = try? CredentialMaterial.fromObject(values, registry: rule.pattern.text),
            material.staticCredential() != nil
        {
            return
        }
        if names.count == 1, case .ngc = HostKind.classify(host: rule.pattern.text) { return }
        throw reader.error(
            node,
            "`credentials` names \(names.count) variable\(names.count == 1 ? "" : "s"); name two, "
                + "[USERNAME_VARIABLE, SECRET_VARIABLE], or one well-known key such as NGC_API_KEY")
    }

    /// Upper-case letters, digits and `_`, not starting with a digit (POSIX's portable names). Requiring upper
    /// case catches the costly mistake of pasting a token (`ghp_…`) where its variable's name belongs.
    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            return false
        }
        return name.utf8.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }

    /// Where a block mapping repeats `key`: the second line that starts, at the same indentation as an earlier
    /// one, with `key:` (or `- key:`). Yams reports a duplicate at the mapping's start, or at 1:1, which is no help
    /// in a long file; nil for flow mappings, where the mark Yams gives is kept.
    static func secondOccurrence(of key: String, in text: String) -> (line: Int, column: Int)? {
        // Keys seen per column in the mappings still open: a line indented less closes the deeper ones, and a
        // list item (`- `) closes the previous item's mapping.
        var open: [Int: Set<String>] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var rest = Substring(line)
            var column = 1
            while rest.first == " " {
                rest = rest.dropFirst()
                column += 1
            }
            if rest.isEmpty || rest.first == "#" { continue }
            open = open.filter { $0.key <= column }
            if rest.hasPrefix("- ") {
                open = open.filter { $0.key < column }
                rest = rest.dropFirst(2)
                column += 2
                while rest.first == " " {
                    rest = rest.dropFirst()
                    column += 1
                }
            }
            guard let colon = rest.firstIndex(of: ":") else { continue }
            var name = String(rest[..<colon].reversed().drop(while: { $0 == " " }).reversed())
            if name.count >= 2, let first = name.first, first == "\"" || first == "'", name.last == first {
                name = String(name.dropFirst().dropLast())
            }
            if name == key, open[column, default: []].contains(name) { return (index + 1, column) }
            open[column, default: []].insert(name)
        }
        return nil
    }

    private static func syntaxError(_ error: YamlError, file: String, text: String) -> ConfigError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, message: "YAML syntax: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let (line, column) =
                duplicates.lazy.compactMap { secondOccurrence(of: $0, in: text) }.first
                ?? (context.mark.line, context.mark.column)
            return ConfigError(
                file: file, line: line, column: column,
                message: "`\(duplicates.joined(separator: "`, `"))` is given twice in one mapping")
        default:
            return ConfigError(file: file, line: 1, column: 1, message: "YAML: \(error)")
        }
    }
}

/// The parsed config file: the `registries:` rules, and the raw sections other targets own.
package struct ConfigDocument {
    package var config: OcicredConfig
    package var sections: [String: Node]
    /// Reads those sections with positions in this file.
    package var reader: NodeReader
    /// What is allowed but probably not meant (`host: "*.*"`), `file:line:column: message` each; `config
    /// validate` prints them.
    package var warnings: [String] = []
}

/// Typed reads of YAML nodes that fail with the node's position; the one way every target reads its part of
/// the config.
package struct NodeReader: Sendable {
    package let file: String

    package func location(_ node: Node) -> String {
        "\(file):\(node.mark?.line ?? 1):\(node.mark?.column ?? 1)"
    }

    package func error(_ node: Node, _ message: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, message: message)
    }

    package func mapping(_ node: Node, what: String) throws(ConfigError) -> [(key: Node, value: Node)] {
        guard case .mapping(let map) = node else { throw error(node, "\(what) must be a mapping of `key: value`") }
        return map.map { ($0.key, $0.value) }
    }

    package func checkKeys(_ map: [(key: Node, value: Node)], allowed: [String], in what: String) throws(ConfigError) {
        var seen = Set<String>()
        for (key, _) in map {
            guard let name = key.string else { throw error(key, "keys in \(what) must be plain strings") }
            guard allowed.contains(name) else {
                throw error(key, "unknown key `\(name)` in \(what); known keys: \(allowed.joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw error(key, "`\(name)` is given twice in \(what)") }
        }
    }

    package func string(_ node: Node, key: String) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, "`\(key)` must be a string") }
        // A YAML null, bool or number where a name belongs is almost always a typo or a missing quote.
        if scalar.style == .plain, node.null != nil || node.bool != nil || node.int != nil || node.float != nil {
            throw error(
                node, "`\(key)` must be a string, not a YAML null, boolean or number; quote it if you mean the text")
        }
        return scalar.string
    }

    /// A duration in seconds: a positive number with `s`, `m` or `h` (30s, 5m, 1h); anything else (`5`, `5 seconds`,
    /// `5x`) is an error, never a guess.
    package func duration(_ node: Node, key: String) throws(ConfigError) -> Double {
        guard case .scalar(let scalar) = node else { throw error(node, "`\(key)` must be a duration like 30s") }
        var text = Substring(scalar.string)
        var unit = 1.0
        switch text.last {
        case "s": unit = 1
        case "m": unit = 60
        case "h": unit = 3600
        default: break
        }
        if text.last == "s" || text.last == "m" || text.last == "h" {
            text = text.dropLast()
        } else if Double(text) != nil {
            // Go's durations (and so the kubelet's, and every Kubernetes manifest's) need a unit; 5 could be
            // seconds or minutes, and a guess would be wrong for someone.
            throw error(node, "`\(key)` needs a unit: write \(scalar.string)s, \(scalar.string)m or \(scalar.string)h")
        }
        guard let value = Double(text), value > 0, value.isFinite else {
            throw error(node, "`\(key)` must be a positive duration such as 30s, 5m or 1h, not \"\(scalar.string)\"")
        }
        return value * unit
    }

    /// `optionalString`, refused with `problem` (after the quoted value) unless `isValid` holds.
    package func checked(
        _ map: [(key: Node, value: Node)], _ key: String, _ isValid: (String) -> Bool, _ problem: String
    ) throws(ConfigError) -> String? {
        guard let value = map.first(where: { $0.key.string == key })?.value else { return nil }
        let text = try string(value, key: key)
        guard isValid(text) else { throw error(value, "`\(key)` \"\(text)\" \(problem)") }
        return text
    }

    package func optionalString(_ map: [(key: Node, value: Node)], _ key: String) throws(ConfigError) -> String? {
        guard let value = map.first(where: { $0.key.string == key })?.value else { return nil }
        return try string(value, key: key)
    }
}
