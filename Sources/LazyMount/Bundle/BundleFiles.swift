/// The one way the bundle and profile code writes a file (config.json, a cached profile): atomically, 0600,
/// through the same writer as the index cache, so a change to how ocicred writes files is made in one place.
enum BundleFiles {
    static func write(_ bytes: [UInt8], to path: String) throws(LazyMountError) {
        try IndexCache.writeAtomically(bytes, to: path)
    }
}
