import Credentials
import Foundation
import Registry
import Testing
import Transport

/// Tag → index → platform manifest → config, over a stub transport (the logic, not the network, is under test).
@Suite struct ImageResolutionTests {
    struct StubRegistry: HTTPClient {
        var manifests: [String: (type: String, body: [UInt8])]
        var blobs: [String: [UInt8]]

        func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
            let path = request.url
            if path.hasSuffix("/v2/") { return HTTPResponse(status: 200, headers: [], body: [], url: request.url) }
            if let range = path.range(of: "/manifests/"), let found = manifests[String(path[range.upperBound...])] {
                return HTTPResponse(
                    status: 200, headers: [("content-type", found.type)], body: found.body, url: request.url)
            }
            if let range = path.range(of: "/blobs/"), let blob = blobs[String(path[range.upperBound...])] {
                return HTTPResponse(status: 200, headers: [], body: blob, url: request.url)
            }
            return HTTPResponse(status: 404, headers: [], body: [], url: request.url)
        }
    }

    static func json(_ object: Any) -> [UInt8] { [UInt8](try! JSONSerialization.data(withJSONObject: object)) }

    static func registry(tamperArm: Bool = false) -> StubRegistry {
        let config = json(["architecture": "arm64", "os": "linux"])
        let configDigest = Digest.sha256(config)
        func manifest(_ layerType: String) -> [UInt8] {
            json([
                "schemaVersion": 2, "mediaType": MediaType.ociManifest,
                "config": [
                    "mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest,
                    "size": config.count,
                ],
                "layers": [
                    ["mediaType": layerType, "digest": "sha256:" + String(repeating: "a", count: 64), "size": 1]
                ],
            ])
        }
        let amd = manifest("application/vnd.oci.image.layer.v1.tar+gzip")
        let arm = manifest("application/vnd.docker.image.rootfs.diff.tar.gzip")
        let index = json([
            "schemaVersion": 2, "mediaType": MediaType.ociIndex,
            "manifests": [
                [
                    "mediaType": MediaType.ociManifest, "digest": Digest.sha256(amd), "size": amd.count,
                    "platform": ["os": "linux", "architecture": "amd64"],
                ],
                [
                    "mediaType": MediaType.dockerManifest, "digest": Digest.sha256(arm), "size": arm.count,
                    "platform": ["os": "linux", "architecture": "arm64", "variant": "v8"],
                ],
            ],
        ])
        return StubRegistry(
            manifests: [
                "v1": (MediaType.ociIndex, index), Digest.sha256(amd): (MediaType.ociManifest, amd),
                Digest.sha256(arm): (MediaType.dockerManifest, tamperArm ? arm + [0x20] : arm),
            ],
            blobs: [configDigest: config])
    }

    func client(_ stub: StubRegistry) -> RegistryClient {
        RegistryClient(endpoint: RegistryEndpoint(host: "127.0.0.1:1"), http: stub, credentials: { _ in nil })
    }

    @Test func anIndexPicksThePlatformsManifest() async throws {
        let stub = Self.registry()
        let reference = try Reference.parse("127.0.0.1:1/app:v1")
        let arm = try await client(stub).resolveImage(reference, platform: try Platform.parse("linux/arm64"))
        #expect(arm.manifest.layers[0].mediaType == "application/vnd.docker.image.rootfs.diff.tar.gzip")
        let amd = try await client(stub).resolveImage(reference, platform: Platform.host)
        #expect(amd.manifest.layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+gzip")
        #expect(amd.manifestDigest != arm.manifestDigest)
        await #expect(
            throws: RegistryError.noMatchingPlatform(
                requested: "linux/s390x", available: ["linux/amd64", "linux/arm64/v8"])
        ) {
            _ = try await client(stub).resolveImage(reference, platform: try Platform.parse("linux/s390x"))
        }
    }

    @Test func aManifestThatDoesNotHashToItsDigestIsRejected() async throws {
        let reference = try Reference.parse("127.0.0.1:1/app:v1")
        let error = await #expect(throws: RegistryError.self) {
            _ = try await client(Self.registry(tamperArm: true))
                .resolveImage(reference, platform: try Platform.parse("linux/arm64/v8"))
        }
        guard case .digestMismatch? = error else {
            Issue.record("expected a digest mismatch, got \(String(describing: error))")
            return
        }
    }

    @Test(arguments: ["linux", "linux/", "/amd64", "a/b/c/d"]) func badPlatformsAreRejected(_ text: String) {
        #expect(throws: RegistryError.invalidPlatform(text)) { _ = try Platform.parse(text) }
    }
}
