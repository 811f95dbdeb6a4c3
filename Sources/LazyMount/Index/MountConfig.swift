package import Credentials
internal import Registry
package import SystemSupport
internal import Yams

/// The `mount:` section of the config, which only `ocicred mount` reads: which pushed indexes and profiles it
/// trusts, per repository or per image, so a node's mounts need no flags (the flags add to it).
///
/// ```yaml
/// mount:
///   trust:
///     - repository: registry.example.com/team/*   # host/repository; `*` matches any run of characters
///       indexKeys: [/etc/ocicred/index.pub]      # cosign public keys whose signatures bind an index or profile
///     - repository: registry.internal/ci/*
///       trustPushed: true                         # whoever can push there decides what the mount reads
///     - image: registry.example.com/team/app:1.0  # one image, as `mount` is given it
///       index: sha256:…                           # the index artifact pinned (as `index --push` printed it)
/// ```
///
/// Every rule that matches the image adds to the mount's trust.
package struct MountConfig: Sendable {
    struct Rule: Sendable {
        var repository: String?
        var image: String?
        var indexKeys: [String] = []
        var trustPushed = false
        var index: String?
    }

    var rules: [Rule] = []

    /// The `mount:` section of `document` (none: no rule).
    package static func parse(_ document: ConfigDocument) throws(ConfigError) -> MountConfig {
        guard let section = document.sections["mount"] else { return MountConfig() }
        let reader = document.reader
        let map = try reader.mapping(section, what: "`mount`")
        try reader.checkKeys(map, allowed: ["trust"], in: "`mount`")
        guard let list = map.first(where: { $0.key.string == "trust" })?.value else { return MountConfig() }
        guard case .sequence(let entries) = list else { throw reader.error(list, "`mount.trust` must be a list") }
        var config = MountConfig()
        for entry in entries {
            config.rules.append(try rule(entry, reader: reader))
        }
        return config
    }

    private static func rule(_ entry: Node, reader: NodeReader) throws(ConfigError) -> Rule {
        let what = "a `mount.trust` entry"
        let map = try reader.mapping(entry, what: what)
        try reader.checkKeys(map, allowed: ["repository", "image", "indexKeys", "trustPushed", "index"], in: what)
        var rule = Rule()
        rule.repository = try reader.optionalString(map, "repository")
        rule.image = try reader.optionalString(map, "image")
        guard (rule.repository == nil) != (rule.image == nil) else {
            throw reader.error(entry, "\(what) names either `repository` (a pattern) or `image`, not both or neither")
        }
        if let image = rule.image {
            do {
                rule.image = try Reference.parse(image).description
            } catch {
                throw reader.error(entry, "`image` \(image) is not an image reference: \(error)")
            }
        }
        if let keys = map.first(where: { $0.key.string == "indexKeys" })?.value {
            guard case .sequence(let paths) = keys, !paths.isEmpty else {
                throw reader.error(keys, "`indexKeys` must be a list of public key files")
            }
            for path in paths {
                let file = try reader.string(path, key: "indexKeys")
                guard file.hasPrefix("/") else {
                    throw reader.error(path, "`indexKeys` entries must be absolute paths")
                }
                rule.indexKeys.append(file)
            }
        }
        if let pushed = map.first(where: { $0.key.string == "trustPushed" })?.value {
            guard let value = pushed.bool else { throw reader.error(pushed, "`trustPushed` must be true or false") }
            rule.trustPushed = value
        }
        if let index = map.first(where: { $0.key.string == "index" })?.value {
            let digest = try reader.string(index, key: "index")
            guard rule.image != nil else { throw reader.error(index, "`index` pins one image's index: give `image`") }
            guard Digest.isWellFormed(digest) else { throw reader.error(index, "`index` must be sha256:<64 hex>") }
            rule.index = digest
        }
        return rule
    }

    /// What every rule matching `reference` says, added to the command line's own.
    package func trust(for reference: Reference, keyFiles: [String], pinnedIndex: String?, pushed: Bool)
        throws(LazyMountError) -> IndexTrust
    {
        let name = reference.host + "/" + reference.repository
        var keys = keyFiles
        var pinned = pinnedIndex
        var trustPushed = pushed
        for rule in rules {
            let matches =
                rule.image.map { $0 == reference.description }
                ?? rule.repository.map { Wildcard.matches(Array($0.utf8), Array(name.utf8)) } ?? false
            guard matches else { continue }
            keys += rule.indexKeys
            trustPushed = trustPushed || rule.trustPushed
            if pinned == nil { pinned = rule.index }
        }
        return try IndexTrust.load(keyFiles: keys, pinnedIndex: pinned, pushed: trustPushed)
    }

    /// The config of this environment's `mount:` section, errors as `ConfigLoader.load` reports them.
    package static func load(environment: OcicredEnvironment) throws(CredentialError) -> MountConfig {
        let document = try ConfigLoader.loadDocument(environment: environment)
        do {
            return try parse(document)
        } catch {
            throw .config(error)
        }
    }
}
