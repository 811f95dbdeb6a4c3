package import FoundationEssentials

/// One entry of a layer's tar stream as the index keeps it: the metadata a filesystem shows, and where the
/// file's bytes start in the layer's uncompressed stream.
package struct TarEntry: Codable, Sendable, Equatable {
    package enum Kind: String, Codable, Sendable {
        case file, directory, symlink, hardlink, characterDevice, blockDevice, fifo
    }

    /// Normalised: no leading `./` or `/`, no trailing `/`.
    package var path: String
    package var kind: Kind
    /// Permission bits with setuid, setgid and sticky (`mode & 0o7777`).
    package var mode: UInt32
    package var uid: Int
    package var gid: Int
    /// Seconds since the epoch (PAX fractions dropped).
    package var mtime: Int64
    /// Bytes of file data; 0 for everything but regular files.
    package var size: Int64
    /// Symlink target as written; hard link target normalised like `path`.
    package var linkName: String?
    package var devMajor: UInt32?
    package var devMinor: UInt32?
    /// `SCHILY.xattr.NAME` PAX records; values are bytes (base64 in the JSON index).
    package var xattrs: [String: Data]?
    /// Offset of the file's first data byte in the uncompressed layer stream.
    package var offset: Int64
}

package enum TarError: Error, Equatable, CustomStringConvertible {
    case badChecksum(offset: Int64)
    case badNumber(field: String, offset: Int64)
    case badPAX(offset: Int64, reason: String)
    case metadataTooLarge(offset: Int64, size: Int64)
    case truncated(offset: Int64)

    package var description: String {
        switch self {
        case .badChecksum(let offset): return "tar header at offset \(offset) has a bad checksum: not a tar layer"
        case .badNumber(let field, let offset): return "tar header at offset \(offset) has a bad \(field) field"
        case .badPAX(let offset, let reason): return "PAX header at offset \(offset) is malformed: \(reason)"
        case .metadataTooLarge(let offset, let size):
            return "tar metadata entry at offset \(offset) is \(size) bytes; refusing more than 1 MiB"
        case .truncated(let offset): return "the tar stream ends inside the entry at offset \(offset)"
        }
    }
}

extension TarEntry {
    /// Tar paths as tools write them (`./etc/`, `/etc`, `etc//x`, `a/./b`) become one spelling, the way the image
    /// spec's changesets compare them: empty and `.` components dropped, `..` taking back the component before it
    /// (Go's filepath.Clean, as docker and containers/storage clean names before extracting). nil when the name
    /// climbs above the root (`../etc/passwd`, `a/../../x`): a hostile layer must not produce a FUSE entry named
    /// `..` or a path outside the image, so such an entry is skipped, as docker refuses it ("breakout").
    static func normalize(_ path: String) -> String? {
        var components: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                guard components.popLast() != nil else { return nil }
            default: components.append(component)
            }
        }
        return components.joined(separator: "/")
    }
}
