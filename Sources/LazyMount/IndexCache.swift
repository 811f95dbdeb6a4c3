public import Credentials
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Where indexes are kept: `$XDG_CACHE_HOME/ocicred/index/<manifest digest>`, 0600 files in a 0700 directory,
/// written atomically (temp file, fsync, rename) so a mount never reads half an index.
public struct IndexCache: Sendable {
    public let directory: String

    public init(environment: OcicredEnvironment) {
        directory = environment.cacheHome + "/ocicred/index"
    }

    public func path(forManifest digest: String) -> String { directory + "/" + digest }

    /// The cached index for `digest`, if present, readable and of this version and `span`.
    public func load(manifestDigest digest: String, span: Int64) -> ImageIndex? {
        guard let index = try? Self.read(path(forManifest: digest)) else { return nil }
        return index.version == ImageIndex.currentVersion && index.span == span ? index : nil
    }

    @discardableResult
    public func store(_ index: ImageIndex) throws(LazyMountError) -> String {
        try Self.makeDirectory(directory)
        let file = path(forManifest: index.manifestDigest)
        try Self.write(index, to: file)
        return file
    }

    public static func read(_ path: String) throws(LazyMountError) -> ImageIndex {
        let bytes = try readFile(path)
        do {
            let index = try JSONDecoder().decode(ImageIndex.self, from: Data(bytes))
            guard index.version == ImageIndex.currentVersion else {
                throw LazyMountError.index(path: path, reason: "version \(index.version), expected \(ImageIndex.currentVersion)")
            }
            return index
        } catch let error as LazyMountError {
            throw error
        } catch {
            throw .index(path: path, reason: "not an ocicred index: \(error)")
        }
    }

    /// Encodes `index` (sorted keys, so equal indexes are equal files) and writes it atomically, mode 0600.
    public static func write(_ index: ImageIndex, to path: String) throws(LazyMountError) {
        try writeAtomically(try encode(index), to: path)
    }

    public static func encode(_ index: ImageIndex) throws(LazyMountError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { return Array(try encoder.encode(index)) } catch { throw .index(path: "-", reason: "\(error)") }
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws(LazyMountError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .index(path: path, reason: "cannot create: \(String(cString: strerror(errno)))") }
        var offset = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        fchmod(fd, 0o600)
        close(fd)
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw .index(path: path, reason: "cannot write: \(String(cString: strerror(failure)))")
        }
    }

    static func makeDirectory(_ path: String) throws(LazyMountError) {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw .index(path: path, reason: "cannot create directory: \(String(cString: strerror(errno)))")
            }
        }
    }

    static func readFile(_ path: String) throws(LazyMountError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .index(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .index(path: path, reason: String(cString: strerror(errno)))
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: buffer[0..<count])
        }
    }
}
