import Credentials
import Foundation
import Testing
import Transport

@testable import Registry

/// What a multi-range answer must be before its bytes are believed: every part framed as RFC 9110 §14.6 says,
/// each exactly the bytes its Content-Range names and inside the ranges asked. Answers a real registry would
/// only give when broken or tampered with, so they come from a scripted transport.
@Suite struct MultipartByteRangesTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)
    static let blob = (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 8) }
    static let boundary = "3d6b6a416f9b5"

    /// A multipart body: each part's Content-Range line (nil: none) and its content.
    static func body(_ parts: [(String?, [UInt8])], preamble: String = "") -> [UInt8] {
        var body = Array(preamble.utf8)
        for (contentRange, content) in parts {
            body += Array("\r\n--\(boundary)\r\nContent-Type: application/octet-stream\r\n".utf8)
            if let contentRange { body += Array("Content-Range: \(contentRange)\r\n".utf8) }
            body += Array("\r\n".utf8) + content
        }
        return body + Array("\r\n--\(boundary)--\r\n".utf8)
    }

    static func part(_ range: Range<Int>) -> (String?, [UInt8]) {
        ("bytes \(range.lowerBound)-\(range.upperBound - 1)/\(blob.count)", Array(blob[range]))
    }

    /// A registry whose blob answers `status` with `body` as multipart/byteranges (with `contentType` instead
    /// when given).
    static func client(status: Int = 206, body: [UInt8], contentType: String? = nil) -> RegistryClient {
        let http = ScriptedHTTP { request throws(HTTPError) in
            if request.url.hasSuffix("/v2/") { return ScriptedHTTP.response(200) }
            let type = contentType ?? "multipart/byteranges; boundary=\"\(boundary)\""
            return HTTPResponse(status: status, headers: [(name: "content-type", value: type)], body: body, url: "")
        }
        return RegistryClient(
            endpoint: RegistryEndpoint(host: "registry.example"), http: http, credentials: { _ in nil })
    }

    @Test func aDelimiterInsideAPartsBytesAndACoalescedGapAreReadByLength() async throws {
        // The first part's content holds the delimiter itself; the server joined 200..<300 and 310..<400.
        var tricky = Array(Self.blob[0..<64])
        tricky.replaceSubrange(8..<(12 + Self.boundary.utf8.count), with: Array("\r\n--\(Self.boundary)".utf8))
        let body = Self.body(
            [("bytes 0-63/4096", tricky), Self.part(200..<400)], preamble: "ignored preamble")
        let answers = try await Self.client(body: body).fetchBlobRanges(
            repository: "app", digest: Self.digest, ranges: [0..<64, 200..<300, 310..<400])
        #expect(answers == [tricky, Array(Self.blob[200..<300]), Array(Self.blob[310..<400])])
    }

    /// Each answer is refused with what was wrong, and no bytes are returned.
    @Test(
        arguments: [
            ("a part for other bytes", Self.body([Self.part(0..<64), Self.part(1000..<1100)]), "not asked for"),
            ("a part past the ranges", Self.body([Self.part(0..<64), Self.part(200..<301)]), "not asked for"),
            (
                "a part without Content-Range", Self.body([Self.part(0..<64), (nil, [1, 2])]), "partWithoutContentRange"
            ),
            (
                "a part shorter than its Content-Range",
                Self.body([Self.part(0..<64), ("bytes 200-299/4096", Array(Self.blob[200..<290]))]), "truncatedPart"
            ),
            (
                "a part longer than its Content-Range",
                Self.body([Self.part(0..<64), ("bytes 200-299/4096", Array(Self.blob[200..<310]))]), "missingDelimiter"
            ),
            (
                "a body cut short", Array(Self.body([Self.part(0..<64), Self.part(200..<300)]).dropLast(30)),
                "truncated"
            ),
            ("no delimiter at all", Array(Self.blob[0..<164]), "missingDelimiter"),
        ] as [(String, [UInt8], String)])
    func aBrokenMultipartAnswerIsRefused(what: String, body: [UInt8], reason: String) async throws {
        let error = await #expect(throws: RegistryError.self, "\(what)") {
            try await Self.client(body: body).fetchBlobRanges(
                repository: "app", digest: Self.digest, ranges: [0..<64, 200..<300])
        }
        guard case .rangeNotHonoured(let digest, let detail)? = error else {
            Issue.record("\(what): \(String(describing: error))")
            return
        }
        #expect(digest == Self.digest)
        #expect(detail.contains(reason), "\(what): \(detail)")
        #expect(error?.description.contains("did not honour a range request") == true)
    }

    @Test func aMissingBlobAndBadRangesSayWhatIsWrong() async throws {
        let missing = await #expect(throws: RegistryError.self) {
            try await Self.client(status: 404, body: [], contentType: "application/json").fetchBlobRanges(
                repository: "app", digest: Self.digest, ranges: [0..<1, 5..<6])
        }
        #expect(missing == .blobFetch(digest: Self.digest, status: 404))
        let client = Self.client(body: [])
        for ranges: [Range<Int64>] in [
            [], [0..<1, 9..<9], [-1..<4], [0..<1, 1..<(RegistryClient.maximumRangesBytes + 1)],
        ] {
            let error = await #expect(throws: RegistryError.self, "\(ranges)") {
                try await client.fetchBlobRanges(repository: "app", digest: Self.digest, ranges: ranges)
            }
            guard case .invalidArgument(let text)? = error else {
                Issue.record("\(ranges): \(String(describing: error))")
                continue
            }
            #expect(text.contains("blob ranges"), "\(text)")
        }
        await #expect(throws: RegistryError.unsupportedDigest("sha256:ABC")) {
            try await client.fetchBlobRanges(repository: "app", digest: "sha256:ABC", ranges: [0..<1])
        }
    }

    @Test func requestsHoldAtMostTheirShareOfRanges() {
        let many: [Range<Int64>] = (Int64(0)..<150).map { (start: Int64) -> Range<Int64> in start * 10..<start * 10 + 5
        }
        #expect(RegistryClient.batches(many).map(\.count) == [64, 64, 22])
        let mebibyte: Int64 = 1 << 20
        let big: [Range<Int64>] = [0..<10 * mebibyte, 10 * mebibyte + 1..<20 * mebibyte, 30 * mebibyte..<31 * mebibyte]
        #expect(RegistryClient.batches(big).map(\.count) == [1, 2])
        #expect(MultipartByteRanges.boundary(contentType: "Multipart/ByteRanges ; Boundary=\"a b\"") == "a b")
        #expect(MultipartByteRanges.boundary(contentType: "application/octet-stream") == nil)
    }
}
