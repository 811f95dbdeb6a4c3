/// A small strict JSON parser (RFC 8259) into `JSONValue`. The credential-helper `get` parses a store
/// entry and auth files on every call; Foundation's JSONDecoder costs more in generic-metadata
/// instantiation at start-up than the parse itself, so this path uses a direct recursive-descent parser.
/// Depth is bounded so hostile input cannot exhaust the stack.
package struct JSONParser {
    package enum Failure: Error, Equatable {
        case invalid(offset: Int)
        case tooDeep
    }

    package static let maxDepth = 64

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    package static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw .invalid(offset: parser.index) }
        return value
    }

    /// The members of the object at `path` (keys of nested objects, from the top) in document order, duplicates
    /// included; nil when the path does not lead to an object. A dictionary forgets the order, and two inputs that
    /// differ only in order must still give one answer: callers pick the winner by position, as Go's
    /// encoding/json does (the last of several keys naming the same field wins).
    package static func members(_ bytes: [UInt8], path: [String] = []) throws(Failure) -> [(
        key: String, value: JSONValue
    )]? {
        _ = try parse(bytes)  // the whole document must be valid before any part of it is used
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        var remaining = path[...]
        while true {
            guard parser.index < bytes.count, bytes[parser.index] == UInt8(ascii: "{") else { return nil }
            let listed = try parser.orderedMembers(depth: 0)
            guard let next = remaining.popFirst() else { return listed.map { ($0.key, $0.value) } }
            guard let member = listed.last(where: { $0.key == next }) else { return nil }
            parser.index = member.offset
        }
    }

    /// The members of the object starting at `index`, through its closing brace, in document order with the
    /// offset each value starts at.
    private mutating func orderedMembers(depth: Int) throws(Failure) -> [(key: String, value: JSONValue, offset: Int)] {
        var members = [(key: String, value: JSONValue, offset: Int)]()
        if try opens(closedBy: UInt8(ascii: "}")) { return members }
        repeat {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail() }
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail() }
            index += 1
            skipWhitespace()
            let offset = index
            members.append((key, try value(depth: depth + 1), offset))
        } while try continues(closedBy: UInt8(ascii: "}"))
        return members
    }

    /// Steps over an opening bracket and the whitespace after it; true when `closing` follows at once (consumed).
    private mutating func opens(closedBy closing: UInt8) throws(Failure) -> Bool {
        index += 1
        skipWhitespace()
        guard index < bytes.count, bytes[index] == closing else { return false }
        index += 1
        return true
    }

    /// After an element: true when a comma follows (consumed, with the whitespace after it), false when `closing`
    /// does (consumed).
    private mutating func continues(closedBy closing: UInt8) throws(Failure) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw fail() }
        if bytes[index] == UInt8(ascii: ",") {
            index += 1
            skipWhitespace()
            return true
        }
        guard bytes[index] == closing else { throw fail() }
        index += 1
        return false
    }

    private mutating func skipWhitespace() {
        while index < bytes.count,
            bytes[index] == 0x20 || bytes[index] == 0x0a || bytes[index] == 0x0d || bytes[index] == 0x09
        {
            index += 1
        }
    }

    private func fail() -> Failure { .invalid(offset: index) }

    private mutating func expect(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw fail() }
        let matches = literal.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw fail() }
        index += count
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard depth < Self.maxDepth else { throw .tooDeep }
        guard index < bytes.count else { throw fail() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        default: return try number()
        }
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        var members = [String: JSONValue]()
        for member in try orderedMembers(depth: depth) { members[member.key] = member.value }
        return .object(members)
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        var elements = [JSONValue]()
        if try opens(closedBy: UInt8(ascii: "]")) { return .array(elements) }
        repeat {
            elements.append(try value(depth: depth + 1))
        } while try continues(closedBy: UInt8(ascii: "]"))
        return .array(elements)
    }

    private mutating func string() throws(Failure) -> String {
        index += 1
        var out = [UInt8]()
        while true {
            guard index < bytes.count else { throw fail() }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw fail() }
                return text
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw fail() }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // A surrogate pair spells one scalar outside the BMP.
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw fail() }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default: throw fail()
                }
            default:
                guard byte >= 0x20 else { throw fail() }
                out.append(byte)
            }
        }
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw fail() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            index += 1
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw fail()
            }
            value = value << 4 | digit
        }
        return value
    }

    private mutating func number() throws(Failure) -> JSONValue {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        guard index < bytes.count, isDigit(bytes[index]) else { throw fail() }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail() }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw fail() }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text) else { throw fail() }
        return .number(value)
    }
}
