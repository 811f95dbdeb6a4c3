import Credentials
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
}
