internal import Credentials
internal import FoundationEssentials
package import SystemSupport

/// Where indexes are kept: `$XDG_CACHE_HOME/ocicred/index/<manifest digest>`, 0600 files in a 0700 directory,
/// written atomically (temp file, fsync, rename) so a mount never reads half an index.
package struct IndexCache: Sendable {
    package let directory: String

    package init(environment: OcicredEnvironment) {
        directory = environment.cacheHome + "/ocicred/index"
    }

    package func path(forManifest digest: String) -> String { directory + "/" + digest }

    /// The cached index for `digest`, if present, readable and of this version and `span`.
    package func load(manifestDigest digest: String, span: Int64) -> ImageIndex? {
        guard (try? PrivatePath.checkDirectory(directory)) != nil,
            let index = try? Self.read(path(forManifest: digest))
        else { return nil }
        return index.version == ImageIndex.currentVersion && index.span == span ? index : nil
    }

    @discardableResult
    package func store(_ index: ImageIndex) throws(LazyMountError) -> String {
        try store(encoded: try Self.encode(index), manifestDigest: index.manifestDigest)
    }

    /// Keeps an index already in its JSON form (one fetched from the registry and decoded): encoding it again
    /// would cost a mount, before its first byte, about as much as decoding it did.
    @discardableResult
    func store(encoded json: [UInt8], manifestDigest: String) throws(LazyMountError) -> String {
        do {
            try PrivatePath.prepareDirectory(directory)
        } catch {
            throw .index(path: directory, reason: error.description)
        }
        let file = path(forManifest: manifestDigest)
        try Self.write(encoded: json, to: file)
        return file
    }

    package static func read(_ path: String) throws(LazyMountError) -> ImageIndex {
        let read: [UInt8]?
        do {
            read = try FileIO.read(path, limit: 256 << 20)
        } catch {
            throw .index(path: path, reason: error.description)
        }
        guard let bytes = read else { throw .index(path: path, reason: "no such file") }
        do {
            let index = try ImageIndex.decode(bytes)
            guard index.version == ImageIndex.currentVersion else {
                throw LazyMountError.index(
                    path: path, reason: "version \(index.version), expected \(ImageIndex.currentVersion)")
            }
            return index
        } catch let error as LazyMountError {
            throw error
        } catch {
            throw .index(path: path, reason: "not an ocicred index: \(error)")
        }
    }

    /// Encodes `index` (sorted keys, so equal indexes are equal files) and writes it atomically, mode 0600.
    package static func write(_ index: ImageIndex, to path: String) throws(LazyMountError) {
        try write(encoded: try encode(index), to: path)
    }

    private static func write(encoded bytes: [UInt8], to path: String) throws(LazyMountError) {
        do {
            try FileIO.writeAtomically(bytes, to: path)
        } catch {
            throw .index(path: path, reason: error.description)
        }
    }

    package static func encode(_ index: ImageIndex) throws(LazyMountError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { return Array(try encoder.encode(index)) } catch { throw .index(path: "-", reason: "\(error)") }
    }
}
