/// JSON text exactly as Go's `encoding/json` Encoder writes it, because docker-credential-helpers clients
/// and tests compare the helper's output byte for byte: `<`, `>` and `&` become `\u003c`, `\u003e`, `\u0026`
/// (Go's HTML-safe default), U+2028/U+2029 are escaped, map keys are sorted, and no space is added.
enum GoJSON {
    static func string(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 { out += unicodeEscape(scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// An object whose fields keep the given order (Go writes struct fields in declaration order).
    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { string($0.0) + ":" + string($0.1) }.joined(separator: ",") + "}"
    }

    /// A `map[string]string`: Go sorts map keys by their bytes.
    static func map(_ entries: [String: String]) -> String {
        object(entries.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }.map { ($0.key, $0.value) })
    }

    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
