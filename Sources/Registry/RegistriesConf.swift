/// What ocicred takes from containers-registries.conf(5): which registries are insecure (plain HTTP allowed,
/// TLS not verified) and which are blocked. Both formats are read: version 2 `[[registry]]` tables with
/// `prefix`/`location`, `insecure` and `blocked`, and version 1 `[registries.insecure]` /
/// `[registries.block]` lists of host names. Mirrors, aliases and search lists are podman's business and
/// are accepted but not interpreted.
package struct RegistriesConf: Sendable, Equatable {
    package struct Registry: Sendable, Equatable {
        /// What references the entry applies to; `location` when the file sets no prefix. `*.example.com`
        /// matches every subdomain.
        package var prefix: String
        package var location: String
        package var insecure: Bool
        package var blocked: Bool
        /// `file:line` of the `[[registry]]` header, for messages.
        package var origin: String

        package init(
            prefix: String, location: String, insecure: Bool = false, blocked: Bool = false,
            origin: String = ""
        ) {
            self.prefix = prefix
            self.location = location
            self.insecure = insecure
            self.blocked = blocked
            self.origin = origin
        }
    }

    package var registries: [Registry]
    /// Version 1 `[registries.insecure] registries = […]`: host names, matched exactly.
    package var insecureHosts: [String]
    package var blockedHosts: [String]

    package init(registries: [Registry] = [], insecureHosts: [String] = [], blockedHosts: [String] = []) {
        self.registries = registries
        self.insecureHosts = insecureHosts
        self.blockedHosts = blockedHosts
    }

    /// Parses one file's text; `file` names it in errors.
    package static func parse(_ text: String, file: String) throws(RegistriesConfError) -> RegistriesConf {
        let tables: [TOMLSubset.Table]
        do {
            tables = try TOMLSubset.parse(text)
        } catch {
            throw .syntax(file: file, line: error.line, message: error.message)
        }
        var conf = RegistriesConf()
        for table in tables {
            switch (table.path, table.isArrayElement) {
            case (["registry"], true):
                conf.registries.append(try registry(from: table, file: file))
            case (["registries", "insecure"], false):
                conf.insecureHosts += try stringList(table, key: "registries", file: file)
            case (["registries", "block"], false):
                conf.blockedHosts += try stringList(table, key: "registries", file: file)
            case ([], false):
                for key in ["unqualified-search-registries", "credential-helpers"] {
                    _ = try stringList(table, key: key, file: file)
                }
                _ = try string(table, "short-name-mode", file: file)
            default:
                continue  // [aliases], [[registry.mirror]], [registries.search], unknown tables
            }
        }
        return conf
    }

    /// A later file's entries replace an earlier file's with the same prefix (containers-registries.conf.d(5):
    /// drop-ins are applied in order and override by prefix); version 1 lists add up.
    package mutating func merge(_ later: RegistriesConf) {
        for entry in later.registries {
            registries.removeAll { $0.prefix == entry.prefix }
            registries.append(entry)
        }
        insecureHosts += later.insecureHosts
        blockedHosts += later.blockedHosts
    }

    /// The `[[registry]]` entry for `reference` (`host[:port][/repository]`): the longest matching prefix, as
    /// containers/image's FindRegistry picks it.
    package func registry(for reference: String) -> Registry? {
        var best: (registry: Registry, length: Int)?
        for entry in registries {
            let length = Self.matchLength(reference: reference, prefix: entry.prefix)
            if length > (best?.length ?? -1) { best = (entry, length) }
        }
        return best?.registry
    }

    /// Whether `host` (with `repository` when known) is insecure: TLS unverified and plain HTTP allowed.
    package func isInsecure(host: String, repository: String? = nil) -> Bool {
        if insecureHosts.contains(host) { return true }
        let reference = repository.map { host + "/" + $0 } ?? host
        return registry(for: reference)?.insecure ?? false
    }

    package func isBlocked(host: String, repository: String? = nil) -> Bool {
        if blockedHosts.contains(host) { return true }
        let reference = repository.map { host + "/" + $0 } ?? host
        return registry(for: reference)?.blocked ?? false
    }

    /// containers/image's refMatchingPrefix: the whole reference, or the prefix followed by `/`, `:` or `@`
    /// (`:` included as podman does today, so `example.com` also covers `example.com:5000`); `*.domain` matches
    /// hosts under domain. -1 when it does not match.
    static func matchLength(reference: String, prefix: String) -> Int {
        if prefix.hasPrefix("*.") {
            let host = reference.prefix { $0 != "/" }
            let suffix = prefix.dropFirst()
            let hostName = host.split(separator: ":", maxSplits: 1).first.map(String.init) ?? String(host)
            return hostName.hasSuffix(suffix) && hostName.count > suffix.count ? prefix.count : -1
        }
        guard reference.hasPrefix(prefix) else { return -1 }
        if reference.count == prefix.count { return prefix.count }
        let next = reference[reference.index(reference.startIndex, offsetBy: prefix.count)]
        return next == "/" || next == ":" || next == "@" ? prefix.count : -1
    }

    private static func registry(from table: TOMLSubset.Table, file: String) throws(RegistriesConfError)
        -> Registry
    {
        let location = try string(table, "location", file: file) ?? ""
        let prefix = try string(table, "prefix", file: file) ?? ""
        guard !location.isEmpty || !prefix.isEmpty else {
            throw .invalid(file: file, line: table.line, message: "a [[registry]] needs a location or a prefix")
        }
        if prefix.isEmpty, location.hasPrefix("*.") {
            throw .invalid(
                file: file, line: table.line,
                message: "a wildcard location needs to be a prefix; write prefix = \"\(location)\"")
        }
        return Registry(
            prefix: prefix.isEmpty ? location : prefix, location: location,
            insecure: try bool(table, "insecure", file: file) ?? false,
            blocked: try bool(table, "blocked", file: file) ?? false,
            origin: "\(file):\(table.line)")
    }

    private static func string(_ table: TOMLSubset.Table, _ key: String, file: String) throws(RegistriesConfError)
        -> String?
    {
        guard let entry = table.entries[key] else { return nil }
        guard case .string(let value) = entry.value else { throw typeError(key, entry, "a string", file: file) }
        return value
    }

    private static func bool(_ table: TOMLSubset.Table, _ key: String, file: String) throws(RegistriesConfError)
        -> Bool?
    {
        guard let entry = table.entries[key] else { return nil }
        guard case .bool(let value) = entry.value else { throw typeError(key, entry, "true or false", file: file) }
        return value
    }

    private static func stringList(_ table: TOMLSubset.Table, key: String, file: String)
        throws(RegistriesConfError) -> [String]
    {
        guard let entry = table.entries[key] else { return [] }
        guard case .array(let values) = entry.value else {
            throw typeError(key, entry, "an array of strings", file: file)
        }
        var strings: [String] = []
        for value in values {
            guard case .string(let text) = value else { throw typeError(key, entry, "an array of strings", file: file) }
            strings.append(text)
        }
        return strings
    }

    private static func typeError(_ key: String, _ entry: TOMLSubset.Entry, _ expected: String, file: String)
        -> RegistriesConfError
    {
        .invalid(file: file, line: entry.line, message: "\(key) must be \(expected), not \(entry.value.typeName)")
    }
}

package enum RegistriesConfError: Error, Equatable, CustomStringConvertible {
    case syntax(file: String, line: Int, message: String)
    case invalid(file: String, line: Int, message: String)
    case unreadable(path: String, reason: String)

    package var description: String {
        switch self {
        case .syntax(let file, let line, let message), .invalid(let file, let line, let message):
            return "\(file):\(line): \(message) (see containers-registries.conf(5))"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        }
    }
}
