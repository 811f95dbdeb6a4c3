internal import SystemSupport

/// The one way the bundle and profile code writes a file (config.json, a cached profile): SystemSupport's
/// atomic writer, 0600.
enum BundleFiles {
    static func write(_ bytes: [UInt8], to path: String) throws(LazyMountError) {
        do {
            try FileIO.writeAtomically(bytes, to: path)
        } catch {
            throw .bundle(reason: "cannot write \(path): \(error)")
        }
    }

    /// A file the bundle code reads (config.json, /proc): SystemSupport's reader; nil when there is none.
    static func read(_ path: String, limit: Int = 16 << 20) -> [UInt8]? {
        (try? FileIO.read(path, limit: limit)) ?? nil
    }
}
