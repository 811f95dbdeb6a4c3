/// JSON text exactly as Go's `encoding/json` Encoder writes it, because docker-credential-helpers clients
/// and tests compare the helper's output byte for byte: `<`, `>` and `&` become `\u003c`, `\u003e`, `\u0026`
/// (Go's HTML-safe default), U+2028/U+2029 are escaped, map keys are sorted, and no space is added.
enum GoJSON {
    static func string(_ value: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(value.utf8.count + 2)
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// An object whose fields keep the given order (Go writes struct fields in declaration order).
    static func object(_ fields: [(String, String)]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(field.0, to: &out)
            out.append(UInt8(ascii: ":"))
            append(field.1, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A `map[string]string`: Go sorts map keys by their bytes.
    static func map(_ entries: [String: String]) -> String {
        object(
            entries.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }.map {
                ($0.key, $0.value)
            })
    }

    /// Works on UTF-8 bytes: everything Go escapes is ASCII except U+2028/U+2029 (E2 80 A8/A9), and a Swift
    /// string is always valid UTF-8. Going scalar by scalar through `String` costs a helper call more than
    /// the rest of its answer (generic metadata and conformance lookups on first use).
    private static func append(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    out.append(UInt8(ascii: "\\"))
                    out.append(byte)
                case UInt8(ascii: "\n"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case UInt8(ascii: "\r"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case UInt8(ascii: "\t"): out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "&"):
                    unicodeEscape(UInt16(byte), to: &out)
                case 0xE2
                where index + 2 < bytes.count && bytes[index + 1] == 0x80
                    && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9):
                    unicodeEscape(bytes[index + 2] == 0xA8 ? 0x2028 : 0x2029, to: &out)
                    index += 2
                default:
                    if byte < 0x20 { unicodeEscape(UInt16(byte), to: &out) } else { out.append(byte) }
                }
                index += 1
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `\u` and four lower-case hex digits, as Go writes them.
    private static func unicodeEscape(_ value: UInt16, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hexDigits[Int((value >> UInt16(shift)) & 0xF)])
        }
    }
}
