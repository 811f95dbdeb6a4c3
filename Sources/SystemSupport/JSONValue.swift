internal import FoundationEssentials

/// Any JSON value, so documents we only partly understand (auth files, credential material) keep the keys we
/// do not know when we write them back. Numbers keep integer-ness so `1` does not come back as `1.0`.
package enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    package var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// A number as Double, whether it was written as an integer or not.
    package var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    package var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    package subscript(key: String) -> JSONValue? { objectValue?[key] }

    package enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(offset: Int)
        case tooDeep
        case notAnObject

        package var description: String {
            switch self {
            case .invalid(let offset): return "invalid JSON at byte \(offset)"
            case .tooDeep: return "JSON nested more than \(JSONParser.maxDepth) levels"
            case .notAnObject: return "the JSON document is not an object"
            }
        }
    }

    /// Parses a document whose top level must be an object.
    package static func parseObject(_ bytes: [UInt8]) throws(ParseError) -> [String: JSONValue] {
        let value: JSONValue
        do throws(JSONParser.Failure) {
            value = try JSONParser.parse(bytes)
        } catch {
            switch error {
            case .tooDeep: throw .tooDeep
            case .invalid(let offset): throw .invalid(offset: offset)
            }
        }
        guard case .object(let object) = value else { throw .notAnObject }
        return object
    }

    /// The top-level members of a document in document order, duplicates included (see `JSONParser.members`).
    package static func parseMembers(_ bytes: [UInt8], path: [String] = []) throws(ParseError)
        -> [(key: String, value: JSONValue)]
    {
        let members: [(key: String, value: JSONValue)]?
        do throws(JSONParser.Failure) {
            members = try JSONParser.members(bytes, path: path)
        } catch {
            switch error {
            case .tooDeep: throw .tooDeep
            case .invalid(let offset): throw .invalid(offset: offset)
            }
        }
        guard let members else { throw .notAnObject }
        return members
    }

    /// Serialises with sorted keys and two-space indentation: stable output makes diffs and tests honest.
    package static func serialize(_ object: [String: JSONValue], pretty: Bool = true) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys]
        return Array(try encoder.encode(object))
    }
}
