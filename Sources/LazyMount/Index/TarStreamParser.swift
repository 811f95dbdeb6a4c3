internal import FoundationEssentials

/// Parses a tar stream fed in arbitrary pieces, so a layer is read once, streamed, with memory bounded by one
/// header or one metadata entry. Knows ustar (POSIX.1-1988), PAX extended headers (POSIX.1-2001: `path`,
/// `linkpath`, `size`, `uid`, `gid`, `mtime`, `SCHILY.xattr.*`, global `g` records) and GNU `L`/`K` long
/// names, with GNU base-256 numbers — what Go's archive/tar (and so every image builder) writes.
struct TarStreamParser {
    private enum State {
        case header
        /// Skipping file data and its padding.
        case skip(remaining: Int64)
        /// Collecting the body of a metadata entry (`x`, `g`, `L`, `K`), then skipping its padding.
        case collect(type: UInt8, size: Int, padding: Int64, headerOffset: Int64)
        case end
    }

    static let maxMetadataSize = 1 << 20

    private(set) var entries: [TarEntry] = []
    /// Names as written of entries that would leave the root (or hard links to such a name): not indexed.
    private(set) var skipped: [String] = []
    /// Offset of the next byte fed.
    private(set) var position: Int64 = 0
    private var state = State.header
    private var buffer: [UInt8] = []
    private var zeroBlocks = 0
    private var pax: [String: String] = [:]
    private var globalPAX: [String: String] = [:]
    private var longName: String?
    private var longLink: String?

    var isAtEnd: Bool { if case .end = state { true } else { false } }

    mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(TarError) {
        var index = 0
        while index < bytes.count {
            switch state {
            case .end:
                position += Int64(bytes.count - index)
                return
            case .skip(let remaining):
                let step = Int(min(remaining, Int64(bytes.count - index)))
                index += step
                position += Int64(step)
                state = remaining - Int64(step) == 0 ? .header : .skip(remaining: remaining - Int64(step))
            case .header:
                let step = min(512 - buffer.count, bytes.count - index)
                buffer.append(contentsOf: bytes[index..<index + step])
                index += step
                position += Int64(step)
                if buffer.count == 512 {
                    let block = buffer
                    buffer.removeAll(keepingCapacity: true)
                    try header(block, at: position - 512)
                }
            case .collect(let type, let size, let padding, let headerOffset):
                let step = min(size - buffer.count, bytes.count - index)
                buffer.append(contentsOf: bytes[index..<index + step])
                index += step
                position += Int64(step)
                if buffer.count == size {
                    let body = buffer
                    buffer.removeAll(keepingCapacity: true)
                    try metadata(type: type, body: body, at: headerOffset)
                    state = padding == 0 ? .header : .skip(remaining: padding)
                }
            }
        }
    }

    mutating func consume(_ bytes: [UInt8]) throws(TarError) {
        try bytes.withBytes { (raw) throws(TarError) in try consume(raw) }
    }

    /// Called after the last byte: a stream that stops inside an entry is truncated. (A stream without the
    /// two zero blocks is accepted: some layer writers omit them.)
    func finish() throws(TarError) {
        switch state {
        case .header where buffer.isEmpty, .end: return
        default: throw .truncated(offset: position)
        }
    }

    private static func padded(_ size: Int64) -> Int64 { (size + 511) / 512 * 512 }

    private mutating func header(_ block: [UInt8], at offset: Int64) throws(TarError) {
        if block.allSatisfy({ $0 == 0 }) {
            zeroBlocks += 1
            if zeroBlocks == 2 { state = .end }
            return
        }
        zeroBlocks = 0
        let fields = try TarHeader(block, offset: offset)
        let type = fields.typeflag
        if type == UInt8(ascii: "x") || type == UInt8(ascii: "g") || type == UInt8(ascii: "L")
            || type == UInt8(ascii: "K")
        {
            guard fields.size <= Int64(Self.maxMetadataSize) else {
                throw .metadataTooLarge(offset: offset, size: fields.size)
            }
            let size = Int(fields.size)
            state = .collect(
                type: type, size: size, padding: Self.padded(fields.size) - fields.size, headerOffset: offset)
            if size == 0 { try metadata(type: type, body: [], at: offset) }
            if size == 0 { state = .header }
            return
        }
        let overrides = globalPAX.merging(pax) { $1 }
        pax = [:]
        var entry = try fields.entry(offset: offset + 512, pax: overrides, offsetForErrors: offset)
        if let longName { entry.path = longName }
        if let longLink { entry.linkName = longLink }
        longName = nil
        longLink = nil
        let written = entry.path
        var keep = true
        if let path = TarEntry.normalize(entry.path) { entry.path = path } else { keep = false }
        if entry.kind == .hardlink, let link = entry.linkName {
            if let target = TarEntry.normalize(link) { entry.linkName = target } else { keep = false }
        }
        if keep { entries.append(entry) } else { skipped.append(written) }
        // Header-only types carry no data whatever their size field says (Go archive/tar, isHeaderOnlyType).
        let dataSize = entry.kind == .file ? entry.size : 0
        state = dataSize == 0 ? .header : .skip(remaining: Self.padded(dataSize))
    }

    private mutating func metadata(type: UInt8, body: [UInt8], at offset: Int64) throws(TarError) {
        switch type {
        case UInt8(ascii: "x"): pax.merge(try Self.paxRecords(body, offset: offset)) { $1 }
        case UInt8(ascii: "g"): globalPAX.merge(try Self.paxRecords(body, offset: offset)) { $1 }
        case UInt8(ascii: "L"): longName = TarHeader.string(body[...])
        default: longLink = TarHeader.string(body[...])
        }
    }

    /// `"%d %s=%s\n"` records, the length counting the whole record (POSIX pax, "extended header").
    static func paxRecords(_ body: [UInt8], offset: Int64) throws(TarError) -> [String: String] {
        var records: [String: String] = [:]
        var index = 0
        while index < body.count {
            if body[index] == 0 { break }
            guard let space = body[index...].firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: body[index..<space], as: UTF8.self)), length > 0,
                index + length <= body.count, body[index + length - 1] == UInt8(ascii: "\n")
            else { throw .badPAX(offset: offset, reason: "bad record length") }
            let record = body[(space + 1)..<(index + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw .badPAX(offset: offset, reason: "record without '='")
            }
            let key = String(decoding: record[..<equals], as: UTF8.self)
            // Values of SCHILY.xattr.* may be binary; keep the bytes by decoding them as Latin-1 for now.
            records[key] = String(decoding: record[(equals + 1)...], as: UTF8.self)
            if key.hasPrefix("SCHILY.xattr.") {
                records[key] = record[(equals + 1)...].map { String(UnicodeScalar($0)) }.joined()
            }
            index += length
        }
        return records
    }
}
