import Foundation
import SystemSupport
import Testing

@Suite("JSON parser")
struct JSONParserTests {
    @Test(
        "parses what Foundation parses, to the same values",
        arguments: [
            #"{}"#, #"{"a":1,"b":-2.5e3,"c":"x\"y\\z\/\n\t\u00e9\ud83d\ude00","d":[true,false,null,[],{}]}"#,
            " { \"k\" : [ 1 , 2 ] } ", #"{"big":9223372036854775807,"neg":-0,"f":0.1}"#,
            #"{"auths":{"quay.io":{"auth":"cXVheQ=="}},"credsStore":"pass"}"#,
        ])
    func matchesFoundation(text: String) throws {
        let ours = try JSONValue.parseObject(Array(text.utf8))
        let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        #expect(ours.keys.sorted() == theirs.keys.sorted())
        let roundTrip = try JSONSerialization.jsonObject(with: Data(try JSONValue.serialize(ours)))
        #expect(NSDictionary(dictionary: roundTrip as! [String: Any]) == NSDictionary(dictionary: theirs))
    }

    @Test(
        "rejects what RFC 8259 rejects",
        arguments: [
            "", "{", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":1,}", "[1]", "{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}",
            "{\"a\":\"\u{01}\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}", "{} x", "{\"a\":-}",
            "{\"a\":\"unterminated}",
        ])
    func rejects(text: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parseObject(Array(text.utf8)) }
    }

    @Test("deep nesting is refused, not a stack overflow")
    func depth() {
        let deep = "{\"a\":" + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}"
        #expect(throws: JSONValue.ParseError.tooDeep) { try JSONValue.parseObject(Array(deep.utf8)) }
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        #expect(throws: JSONValue.ParseError.self) {
            try JSONValue.parseObject([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])
        }
    }

    @Test("the depth limit is exactly JSONParser.maxDepth")
    func depthLimit() throws {
        func nested(_ depth: Int) -> [UInt8] {
            Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
        }
        _ = try JSONParser.parse(nested(JSONParser.maxDepth))
        #expect(throws: JSONParser.Failure.tooDeep) { try JSONParser.parse(nested(JSONParser.maxDepth + 1)) }
    }

    @Test("members keep document order and duplicates, at any path")
    func membersInDocumentOrder() throws {
        let text = #"{"b":1,"a":{"y":true,"x":false,"y":null},"b":2}"#
        let top = try #require(try JSONParser.members(Array(text.utf8)))
        #expect(top.map(\.key) == ["b", "a", "b"])
        #expect(top.last?.value == .integer(2))
        let inner = try #require(try JSONParser.members(Array(text.utf8), path: ["a"]))
        #expect(inner.map(\.key) == ["y", "x", "y"])
        #expect(inner.last?.value == .null)
        #expect(try JSONParser.members(Array(text.utf8), path: ["b"]) == nil, "a number has no members")
        // The whole document is checked before any part of it is used.
        #expect(throws: JSONParser.Failure.self) { try JSONParser.members(Array(#"{"a":{}} x"#.utf8), path: ["a"]) }
    }

    @Test("an invalid document names the byte where it fails")
    func failureOffset() {
        // Byte 7 is the `}` where, after the comma, a member name must start.
        #expect(throws: JSONParser.Failure.invalid(offset: 7)) { try JSONParser.parse(Array(#"{"a":1,}"#.utf8)) }
    }
}
