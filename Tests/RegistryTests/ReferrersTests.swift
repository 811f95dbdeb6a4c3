import Credentials
import Foundation
import Synchronization
import Testing
import Transport

@testable import Registry

/// Referrers and artifact pushes, the parts that need no registry: uploads over a scripted transport, and the
/// referrers tag's index as a value. `IndexReferrerTests` (LazyMount) runs the whole flow against docker-registry.
@Suite struct ReferrersTests {
    // MARK: - The upload, over a scripted transport

    static let uploads = "https://127.0.0.1:5000/v2/team/app/blobs/uploads/"

    @Test(
        arguments: [
            ("/v2/team/app/blobs/uploads/u1?_state=s", ReferrersTests.uploads + "u1?_state=s&", true),
            ("u2?_state=s", ReferrersTests.uploads + "u2?_state=s&", true),
            (ReferrersTests.uploads + "u3", ReferrersTests.uploads + "u3?", true),
            ("https://uploads.example/session/u4?sig=x", "https://uploads.example/session/u4?sig=x&", false),
        ] as [(String, String, Bool)])
    func uploadGoesToTheLocationWithCredentialsOnlyForTheRegistrysOrigin(
        location: String, expectedPrefix: String, authorized: Bool
    ) async throws {
        let blob = Array("layer".utf8)
        let http = ScriptedUpload(location: location, reportedDigest: Digest.sha256(blob))
        let client = Self.client(host: "127.0.0.1:5000", username: "u", password: "secret-pw", http: http)
        #expect(try await client.pushBlob(blob, digest: Digest.sha256(blob), repository: "team/app"))
        let put = try #require(http.requests.first { $0.method == "PUT" })
        #expect(put.url == expectedPrefix + "digest=sha256%3A" + Digest.sha256(blob).dropFirst(7), "\(put.url)")
        #expect(put.authorized == authorized)
        #expect(http.requests.map(\.method) == ["GET", "HEAD", "POST", "PUT"])
    }

    @Test func uploadToAnotherOriginOverPlainHTTPIsRefusedAndAWrongDigestIsReported() async throws {
        let blob = Array("layer".utf8)
        let plain = ScriptedUpload(location: "http://uploads.example/u5", reportedDigest: Digest.sha256(blob))
        let viaPlain = Self.client(host: "127.0.0.1:5000", username: "u", password: "secret-pw", http: plain)
        await #expect(throws: RegistryError.self) {
            try await viaPlain.pushBlob(blob, digest: Digest.sha256(blob), repository: "team/app")
        }
        #expect(!plain.requests.contains { $0.method == "PUT" })

        let altered = ScriptedUpload(location: "/v2/team/app/blobs/uploads/u6", reportedDigest: Digest.sha256([1]))
        let viaAltered = Self.client(host: "127.0.0.1:5000", username: "u", password: "secret-pw", http: altered)
        let error = await #expect(throws: RegistryError.self) {
            _ = try await viaAltered.pushManifest(
                blob, mediaType: MediaType.ociManifest, digest: Digest.sha256(blob), repository: "team/app")
        }
        #expect(error?.description.contains("altered") == true, "\(String(describing: error))")
        #expect(error?.description.contains("secret-pw") == false)
    }

    // MARK: - Values

    @Test func addingAReferrerReplacesItsDigestAndKeepsEverythingElse() throws {
        let ours = ReferrerDescriptor(
            mediaType: MediaType.ociManifest, digest: "sha256:" + String(repeating: "b", count: 64), size: 400,
            artifactType: "application/vnd.ocicred.index.v1+json", annotations: ["vnd.ocicred.index.span": "65536"])
        let existing = Self.json([
            "schemaVersion": 2, "mediaType": MediaType.ociIndex, "annotations": ["keep": "me"],
            "manifests": [
                ["mediaType": MediaType.ociManifest, "digest": ours.digest, "size": 1, "artifactType": "old"],
                [
                    "mediaType": MediaType.ociManifest, "digest": "sha256:" + String(repeating: "c", count: 64),
                    "size": 7, "x-unknown": [1, 2],
                ],
            ],
        ])
        let updated = try RegistryClient.addingReferrer(ours, to: existing)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(updated)) as? [String: Any])
        #expect(object["schemaVersion"] as? Int == 2 && object["mediaType"] as? String == MediaType.ociIndex)
        #expect((object["annotations"] as? [String: String]) == ["keep": "me"])
        let manifests = try #require(object["manifests"] as? [[String: Any]])
        #expect(manifests.count == 2)
        #expect(manifests[0]["x-unknown"] as? [Int] == [1, 2])
        #expect(manifests[1]["digest"] as? String == ours.digest && manifests[1]["size"] as? Int == 400)

        let fresh = try RegistryClient.addingReferrer(ours, to: nil)
        #expect(try RegistryClient.decodeReferrers(fresh, what: "x").descriptors == [ours])
        #expect(String(decoding: fresh, as: UTF8.self).contains("application/vnd.oci.image.index.v1+json"))
    }

    @Test(
        arguments: [
            (#"</v2/a/referrers/sha256:1?n=2&last=x>; rel="next""#, "/v2/a/referrers/sha256:1?n=2&last=x"),
            (#"<https://r.example/v2/a>; rel="prev", <https://r.example/v2/b>; rel="next""#, "https://r.example/v2/b"),
            (#"<https://r.example/v2/a>; rel="prev""#, nil),
        ] as [(String, String?)])
    func nextPageFollowsTheLinkHeader(link: String, expected: String?) {
        #expect(RegistryClient.nextPage(link) == expected)
    }

    // MARK: - Helpers

    static func client(host: String, username: String, password: String, http: any HTTPClient) -> RegistryClient {
        let credential = RegistryCredential.basic(username: username, password: Secret(password))
        return RegistryClient(endpoint: RegistryEndpoint(host: host), http: http, credentials: { _ in credential })
    }

    static func json(_ object: Any) -> [UInt8] {
        [UInt8](try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}

/// A registry on the other end of a script: Basic auth on `/v2/`, no blob yet, an upload session at `location`,
/// and `reportedDigest` as the `Docker-Content-Digest` of every PUT. Records what was sent, and whether with
/// credentials.
final class ScriptedUpload: HTTPClient {
    struct Sent: Sendable {
        var method: String
        var url: String
        var authorized: Bool
    }
    let location: String
    let reportedDigest: String
    private let sent = Mutex<[Sent]>([])

    init(location: String, reportedDigest: String) {
        self.location = location
        self.reportedDigest = reportedDigest
    }

    var requests: [Sent] { sent.withLock { $0 } }

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        let authorized = request.headers.contains { $0.name.lowercased() == "authorization" }
        sent.withLock { $0.append(Sent(method: request.method, url: request.url, authorized: authorized)) }
        func answer(_ status: Int, _ headers: [(name: String, value: String)] = []) -> HTTPResponse {
            HTTPResponse(status: status, headers: headers, body: [], url: request.url)
        }
        switch request.method {
        case "GET" where request.url.hasSuffix("/v2/"):
            return authorized ? answer(200) : answer(401, [(name: "www-authenticate", value: #"Basic realm="r""#)])
        case "HEAD": return answer(404)
        case "POST": return answer(202, [(name: "location", value: location)])
        case "PUT": return answer(201, [(name: "docker-content-digest", value: reportedDigest)])
        default: return answer(400)
        }
    }
}
