package import Credentials
package import SystemSupport
internal import Yams

/// The `kubelet:` section of the config, which only `ocicred kubelet` reads:
///
/// ```yaml
/// kubelet:
///   cacheDuration: 1h   # how long the kubelet may reuse an answer whose credential has no expiry
/// ```
///
/// A minted token is cached by the kubelet for half its remaining life; a static credential (a config rule's
/// variables, the store) has no expiry, so without this the kubelet would ask the plugin on every pull.
package struct KubeletConfig: Sendable, Equatable {
    /// The documented default: the kubelet asks again every 5 minutes, so a rotated static password reaches
    /// new pulls within that.
    package static let defaultCacheDuration: Double = 300

    /// Seconds.
    package var cacheDuration: Double = KubeletConfig.defaultCacheDuration

    package init(cacheDuration: Double = KubeletConfig.defaultCacheDuration) { self.cacheDuration = cacheDuration }

    /// The `kubelet:` section of `document` (defaults when it has none).
    package static func parse(_ document: ConfigDocument) throws(ConfigError) -> KubeletConfig {
        guard let section = document.sections["kubelet"] else { return KubeletConfig() }
        let reader = document.reader
        let map = try reader.mapping(section, what: "`kubelet`")
        try reader.checkKeys(map, allowed: ["cacheDuration"], in: "`kubelet`")
        var config = KubeletConfig()
        if let value = map.first(where: { $0.key.string == "cacheDuration" })?.value {
            config.cacheDuration = try reader.duration(value, key: "cacheDuration")
        }
        return config
    }

    /// The config of this environment's `kubelet:` section, errors as `ConfigLoader.load` reports them.
    package static func load(environment: OcicredEnvironment) throws(CredentialError) -> KubeletConfig {
        let document = try ConfigLoader.loadDocument(environment: environment)
        do {
            return try parse(document)
        } catch {
            throw .config(error)
        }
    }
}
