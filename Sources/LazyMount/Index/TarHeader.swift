internal import FoundationEssentials

/// The fixed 512-byte header (POSIX ustar; GNU's variant differs in magic and in using base-256 numbers).
struct TarHeader {
    var name: String
    var mode: Int64
    var uid: Int64
    var gid: Int64
    var size: Int64
    var mtime: Int64
    var typeflag: UInt8
    var linkName: String
    var devMajor: Int64
    var devMinor: Int64

    init(_ block: [UInt8], offset: Int64) throws(TarError) {
        let stored = try Self.number(block[148..<156], field: "checksum", offset: offset)
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (index, byte) in block.enumerated() {
            let value = (148..<156).contains(index) ? UInt8(ascii: " ") : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        guard stored == unsigned || stored == signed else { throw .badChecksum(offset: offset) }

        let magic = Array(block[257..<263])
        let isUstar = magic == Array("ustar\0".utf8)
        var name = Self.string(block[0..<100])
        let prefix = isUstar ? Self.string(block[345..<500]) : ""
        if !prefix.isEmpty { name = prefix + "/" + name }
        self.name = name
        mode = try Self.number(block[100..<108], field: "mode", offset: offset)
        uid = try Self.number(block[108..<116], field: "uid", offset: offset)
        gid = try Self.number(block[116..<124], field: "gid", offset: offset)
        size = try Self.number(block[124..<136], field: "size", offset: offset)
        mtime = try Self.number(block[136..<148], field: "mtime", offset: offset)
        typeflag = block[156]
        linkName = Self.string(block[157..<257])
        devMajor = try Self.number(block[329..<337], field: "devmajor", offset: offset)
        devMinor = try Self.number(block[337..<345], field: "devminor", offset: offset)
    }

    /// The entry, with PAX records overriding the header's fields (POSIX pax: extended header keywords).
    func entry(offset dataOffset: Int64, pax: [String: String], offsetForErrors: Int64) throws(TarError) -> TarEntry {
        func paxNumber(_ key: String, _ fallback: Int64) throws(TarError) -> Int64 {
            guard let text = pax[key] else { return fallback }
            // mtime may carry a fraction ("1700000000.123456789"); seconds are what a stat shows.
            let whole = text.split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
            guard let value = Int64(whole) else { throw .badPAX(offset: offsetForErrors, reason: "\(key)=\(text)") }
            return value
        }
        let kind: TarEntry.Kind
        switch typeflag {
        case UInt8(ascii: "1"): kind = .hardlink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        default:
            // '0', '\0' (old tar), '7' (contiguous) are regular files; a trailing '/' on an old-style name is a
            // directory (V7 tar).
            kind = typeflag == 0 && name.hasSuffix("/") ? .directory : .file
        }
        var xattrs: [String: Data] = [:]
        for (key, value) in pax where key.hasPrefix("SCHILY.xattr.") {
            xattrs[String(key.dropFirst("SCHILY.xattr.".count))] = Data(
                value.unicodeScalars.map { UInt8($0.value & 0xff) })
        }
        let isDevice = kind == .characterDevice || kind == .blockDevice
        let size = try paxNumber("size", size)
        let link = pax["linkpath"] ?? linkName
        return TarEntry(
            path: pax["path"] ?? name, kind: kind, mode: UInt32(mode & 0o7777),
            uid: Int(try paxNumber("uid", uid)), gid: Int(try paxNumber("gid", gid)),
            mtime: try paxNumber("mtime", mtime), size: kind == .file ? size : 0,
            linkName: kind == .symlink || kind == .hardlink ? link : nil,
            devMajor: isDevice ? UInt32(devMajor) : nil, devMinor: isDevice ? UInt32(devMinor) : nil,
            xattrs: xattrs.isEmpty ? nil : xattrs, offset: dataOffset)
    }

    /// NUL-terminated text.
    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }

    /// Octal, space- or NUL-terminated; or GNU base-256 when the first byte's high bit is set.
    static func number(_ bytes: ArraySlice<UInt8>, field: String, offset: Int64) throws(TarError) -> Int64 {
        guard let first = bytes.first else { return 0 }
        if first & 0x80 != 0 {
            var value: Int64 = Int64(first & 0x7f)
            for byte in bytes.dropFirst() {
                guard value < Int64.max >> 8 else { throw .badNumber(field: field, offset: offset) }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        var seenDigit = false
        for byte in bytes {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if seenDigit { break } else { continue }
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7") else {
                throw .badNumber(field: field, offset: offset)
            }
            seenDigit = true
            value = value * 8 + Int64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
