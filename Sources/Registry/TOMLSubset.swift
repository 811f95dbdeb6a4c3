/// The part of TOML (v1.0) that registries.conf files use, read strictly: comments, `[table]` and
/// `[[array-table]]` headers, `key = value` with bare or quoted keys, basic and literal strings, booleans,
/// integers and (multi-line) arrays of those. Anything else — inline tables, dotted keys, multi-line strings,
/// dates, floats — is an error naming its line, not a guess: a registries.conf we misread could turn TLS off
/// for the wrong host. Written here so the package gains no TOML dependency for five keys.
enum TOMLSubset {
    indirect enum Value: Equatable {
        case string(String)
        case bool(Bool)
        case integer(Int)
        case array([Value])

        var typeName: String {
            switch self {
            case .string: return "a string"
            case .bool: return "a boolean"
            case .integer: return "an integer"
            case .array: return "an array"
            }
        }
    }

    struct Entry: Equatable {
        var value: Value
        var line: Int
    }

    /// One table as it appears in the file: the root (path `[]`), a `[table]` or one element of an
    /// `[[array-table]]`, with its keys in file order.
    struct Table: Equatable {
        var path: [String]
        var isArrayElement: Bool
        var line: Int
        var keys: [String] = []
        var entries: [String: Entry] = [:]
    }

    struct SyntaxError: Error, Equatable {
        var line: Int
        var message: String
    }

    static func parse(_ text: String) throws(SyntaxError) -> [Table] {
        var parser = Parser(Array(text.utf8))
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        /// Arrays nested inside the one being read. registries.conf needs two levels; a bound keeps hostile
        /// input (100,000 `[`) from exhausting the stack.
        var depth = 0
        static let maximumDepth = 32

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        func fail(_ message: String) -> SyntaxError { SyntaxError(line: line, message: message) }

        mutating func document() throws(SyntaxError) -> [Table] {
            var tables = [Table(path: [], isArrayElement: false, line: 1)]
            var definedTables = Set<[String]>()
            while true {
                skipWhitespaceAndComments(newlines: true)
                guard let byte = current else { return tables }
                if byte == UInt8(ascii: "[") {
                    let headerLine = line
                    index += 1
                    let isArray = current == UInt8(ascii: "[")
                    if isArray { index += 1 }
                    skipSpaces()
                    let path = try keyPath()
                    skipSpaces()
                    guard current == UInt8(ascii: "]") else { throw fail("expected ] after the table name") }
                    index += 1
                    if isArray {
                        guard current == UInt8(ascii: "]") else { throw fail("expected ]] after the table name") }
                        index += 1
                    } else {
                        guard definedTables.insert(path).inserted else {
                            throw fail("table [\(path.joined(separator: "."))] is defined twice")
                        }
                    }
                    try endOfLine()
                    tables.append(Table(path: path, isArrayElement: isArray, line: headerLine))
                } else {
                    let keyLine = line
                    let key = try keyPath()
                    guard key.count == 1 else { throw fail("dotted keys are not supported; use a [table]") }
                    skipSpaces()
                    guard current == UInt8(ascii: "=") else { throw fail("expected = after the key \(key[0])") }
                    index += 1
                    skipSpaces()
                    let value = try self.value()
                    try endOfLine()
                    let last = tables.count - 1
                    guard tables[last].entries[key[0]] == nil else {
                        throw SyntaxError(line: keyLine, message: "the key \(key[0]) is set twice in one table")
                    }
                    tables[last].keys.append(key[0])
                    tables[last].entries[key[0]] = Entry(value: value, line: keyLine)
                }
            }
        }

        mutating func skipSpaces() {
            while let byte = current, byte == 0x20 || byte == 0x09 { index += 1 }
        }

        /// Spaces, comments and (when `newlines`) line ends; counts lines.
        mutating func skipWhitespaceAndComments(newlines: Bool) {
            while let byte = current {
                if byte == 0x20 || byte == 0x09 {
                    index += 1
                } else if byte == UInt8(ascii: "#") {
                    while let next = current, next != 0x0A { index += 1 }
                } else if newlines && (byte == 0x0A || byte == 0x0D) {
                    if byte == 0x0A { line += 1 }
                    index += 1
                } else {
                    return
                }
            }
        }

        mutating func endOfLine() throws(SyntaxError) {
            skipWhitespaceAndComments(newlines: false)
            if current == 0x0D { index += 1 }
            guard let byte = current else { return }
            guard byte == 0x0A else { throw fail("unexpected text after the value") }
        }

        mutating func keyPath() throws(SyntaxError) -> [String] {
            var path = [try key()]
            while true {
                skipSpaces()
                guard current == UInt8(ascii: ".") else { return path }
                index += 1
                skipSpaces()
                path.append(try key())
            }
        }

        mutating func key() throws(SyntaxError) -> String {
            switch current {
            case UInt8(ascii: "\""): return try basicString()
            case UInt8(ascii: "'"): return try literalString()
            default:
                let start = index
                while let byte = current, Self.isBareKeyCharacter(byte) { index += 1 }
                guard index > start else { throw fail("expected a key") }
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }
        }

        mutating func value() throws(SyntaxError) -> Value {
            guard let byte = current else { throw fail("expected a value") }
            switch byte {
            case UInt8(ascii: "\""):
                return .string(try basicString())
            case UInt8(ascii: "'"):
                return .string(try literalString())
            case UInt8(ascii: "["):
                return try array()
            case UInt8(ascii: "{"):
                throw fail("inline tables are not supported here; use a [table]")
            default:
                let start = index
                while let next = current, Self.isBareKeyCharacter(next) || next == UInt8(ascii: "+") { index += 1 }
                let word = String(decoding: bytes[start..<index], as: UTF8.self)
                if word == "true" { return .bool(true) }
                if word == "false" { return .bool(false) }
                if let integer = Int(word), !word.isEmpty { return .integer(integer) }
                throw fail(word.isEmpty ? "expected a value" : "unsupported value \(word)")
            }
        }

        mutating func array() throws(SyntaxError) -> Value {
            guard depth < Self.maximumDepth else { throw fail("arrays nested more than \(Self.maximumDepth) deep") }
            depth += 1
            defer { depth -= 1 }
            index += 1
            var elements: [Value] = []
            while true {
                skipWhitespaceAndComments(newlines: true)
                guard let byte = current else { throw fail("unterminated array") }
                if byte == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
                elements.append(try value())
                skipWhitespaceAndComments(newlines: true)
                if current == nil { throw fail("unterminated array") }
                if current == UInt8(ascii: ",") {
                    index += 1
                } else if current != UInt8(ascii: "]") {
                    throw fail("expected , or ] in the array")
                }
            }
        }

        mutating func basicString() throws(SyntaxError) -> String {
            index += 1
            if current == UInt8(ascii: "\""), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                throw fail("multi-line strings are not supported")
            }
            var scalars = String.UnicodeScalarView()
            var pending: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: pending, as: UTF8.self).unicodeScalars)
                pending.removeAll()
            }
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case 0x0A, 0x0D:
                    throw fail("unterminated string")
                case UInt8(ascii: "\\"):
                    guard let escape = current else { throw fail("unterminated string") }
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): pending.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "\\"): pending.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "n"): pending.append(0x0A)
                    case UInt8(ascii: "t"): pending.append(0x09)
                    case UInt8(ascii: "r"): pending.append(0x0D)
                    case UInt8(ascii: "b"): pending.append(0x08)
                    case UInt8(ascii: "f"): pending.append(0x0C)
                    case UInt8(ascii: "u"), UInt8(ascii: "U"):
                        let count = escape == UInt8(ascii: "u") ? 4 : 8
                        guard index + count <= bytes.count,
                            let code = UInt32(String(decoding: bytes[index..<index + count], as: UTF8.self), radix: 16),
                            let scalar = Unicode.Scalar(code)
                        else { throw fail("invalid \\u escape") }
                        index += count
                        flush()
                        scalars.append(scalar)
                    default:
                        throw fail("invalid escape \\\(Character(Unicode.Scalar(escape)))")
                    }
                default:
                    pending.append(byte)
                }
            }
            throw fail("unterminated string")
        }

        mutating func literalString() throws(SyntaxError) -> String {
            index += 1
            if current == UInt8(ascii: "'"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "'") {
                throw fail("multi-line strings are not supported")
            }
            let start = index
            while let byte = current {
                if byte == UInt8(ascii: "'") {
                    let text = String(decoding: bytes[start..<index], as: UTF8.self)
                    index += 1
                    return text
                }
                if byte == 0x0A || byte == 0x0D { break }
                index += 1
            }
            throw fail("unterminated string")
        }

        static func isBareKeyCharacter(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }
}
