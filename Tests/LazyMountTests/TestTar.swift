import Foundation

/// Writes tar streams byte by byte as the specs lay them out, so parser tests control every field.
struct TestTar {
    var bytes: [UInt8] = []

    static func octal(_ value: Int, width: Int) -> [UInt8] {
        let text = String(value, radix: 8)
        return Array(String(repeating: "0", count: max(0, width - 1 - text.count)).utf8) + Array(text.utf8) + [0]
    }

    static func field(_ text: String, width: Int) -> [UInt8] {
        var out = Array(text.utf8.prefix(width))
        out += [UInt8](repeating: 0, count: width - out.count)
        return out
    }

    /// A ustar header; `magic` "ustar\0" + "00", or GNU's "ustar  \0".
    static func header(
        name: String, type: Character = "0", size: Int = 0, mode: Int = 0o644, uid: Int = 0, gid: Int = 0,
        mtime: Int = 1_700_000_000, link: String = "", prefix: String = "", gnu: Bool = false,
        sizeField: [UInt8]? = nil,
        devMajor: Int = 0, devMinor: Int = 0
    ) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) { block.replaceSubrange(offset..<offset + bytes.count, with: bytes) }
        put(field(name, width: 100), at: 0)
        put(octal(mode, width: 8), at: 100)
        put(octal(uid, width: 8), at: 108)
        put(octal(gid, width: 8), at: 116)
        put(sizeField ?? octal(size, width: 12), at: 124)
        put(octal(mtime, width: 12), at: 136)
        block[156] = type.asciiValue!
        put(field(link, width: 100), at: 157)
        put(gnu ? Array("ustar  \0".utf8) : Array("ustar\u{0}00".utf8), at: 257)
        put(octal(devMajor, width: 8), at: 329)
        put(octal(devMinor, width: 8), at: 337)
        if !gnu { put(field(prefix, width: 155), at: 345) }
        put(Array("        ".utf8), at: 148)
        let sum = block.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return block
    }

    static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    mutating func add(_ header: [UInt8], data: [UInt8] = []) {
        bytes += header
        bytes += Self.padded(data)
    }

    mutating func file(_ name: String, _ data: [UInt8], mode: Int = 0o644) {
        add(Self.header(name: name, size: data.count, mode: mode), data: data)
    }

    mutating func directory(_ name: String, mode: Int = 0o755) { add(Self.header(name: name, type: "5", mode: mode)) }

    static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
        let body = Array(" \(key)=".utf8) + value + [UInt8(ascii: "\n")]
        var length = body.count + 1
        while String(length).count + body.count != length { length = String(length).count + body.count }
        return Array(String(length).utf8) + body
    }

    mutating func pax(_ records: [(String, [UInt8])]) {
        let body = records.flatMap { Self.paxRecord($0.0, $0.1) }
        add(Self.header(name: "PaxHeaders/x", type: "x", size: body.count), data: body)
    }

    mutating func finish() { bytes += [UInt8](repeating: 0, count: 1024) }

    static func random(_ count: Int, seed: inout UInt64) -> [UInt8] {
        (0..<count).map { _ in
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: seed >> 33)
        }
    }

    /// Text that compresses, so deflate emits Huffman blocks ending mid-byte (checkpoints with bits).
    static func text(_ count: Int, seed: inout UInt64) -> [UInt8] {
        let words = ["layer", "index", "span", "window", "deflate", "block", "tar", "mount", "oci", "zran"]
        var out: [UInt8] = []
        while out.count < count {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            out += Array((words[Int(seed >> 40) % words.count] + (seed >> 50 & 1 == 0 ? " " : "\n")).utf8)
        }
        return Array(out.prefix(count))
    }
}
