import Credentials
import Foundation
import Synchronization
import TestSupport
import Testing
import Transport

@testable import Registry

/// The real transport, keeping what each ranged request ended in, so a test sees how many requests a fetch made
/// and that a whole-blob answer was aborted rather than read.
final class RangeLog: HTTPClient {
    enum Outcome: Equatable, Sendable {
        case answered(Int, multipart: Bool)
        case failed(HTTPError)
    }

    let inner = CurlHTTPClient()
    private let kept = Mutex<[(range: String, outcome: Outcome)]>([])

    func send(_ request: HTTPRequest) async throws(HTTPError) -> HTTPResponse {
        guard let range = request.headers.first(where: { $0.name.lowercased() == "range" })?.value else {
            return try await inner.send(request)
        }
        do throws(HTTPError) {
            let response = try await inner.send(request)
            let multipart = response.header("content-type")?.hasPrefix("multipart/byteranges") ?? false
            kept.withLock { $0.append((range, .answered(response.status, multipart: multipart))) }
            return response
        } catch {
            kept.withLock { $0.append((range, .failed(error))) }
            throw error
        }
    }

    var ranges: [String] { kept.withLock { $0.map(\.range) } }
    var outcomes: [Outcome] { kept.withLock { $0.map(\.outcome) } }
}

/// Several ranges of a blob in one request where the registry allows it (docker-registry), range by range where
/// the blob store it redirects to does not (the strict `blob_store.py`, as S3 or a proxy answers), and never
/// with the registry's credentials or TLS exceptions at that other host.
@Suite(.serialized) struct BlobRangesTests {
    static let repository = "test/ranges"

    /// Bytes that differ everywhere, so a range answered from the wrong offset shows.
    static func blob(_ size: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<size).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    static func slices(_ blob: [UInt8], _ ranges: [Range<Int64>]) -> [[UInt8]] {
        ranges.map { Array(blob[Int($0.lowerBound)..<Int($0.upperBound)]) }
    }

    static func client(_ host: String, password: String, http: any HTTPClient, verifyTLS: Bool = true)
        -> RegistryClient
    {
        let credential = RegistryCredential.basic(username: "ranges", password: Secret(password))
        return RegistryClient(
            endpoint: RegistryEndpoint(host: host, verifyTLS: verifyTLS, insecure: !verifyTLS), http: http,
            credentials: { _ in credential })
    }

    static func password() -> String { "pw-" + UUID().uuidString.prefix(8).lowercased() }

    @Test func dockerRegistryAnswersSeveralRangesInOneMultipartResponse() async throws {
        let password = Self.password()
        let registry = try RegistryFixture.start(username: "ranges", password: password)
        defer { registry.stop() }
        let log = RangeLog()
        let client = Self.client(registry.host, password: password, http: log)
        let blob = Self.blob(3 << 20)
        let digest = Digest.sha256(blob)
        try #require(try await client.pushBlob(blob, digest: digest, repository: Self.repository))

        // Out of order, one overlapping another, one a single byte, one the blob's last bytes.
        let end = Int64(blob.count)
        let ranges: [Range<Int64>] = [
            1_000_000..<1_065_536, 100..<4196, 50..<150, 2_000_000..<2_000_001, end - 728..<end,
        ]
        let answers = try await client.fetchBlobRanges(repository: Self.repository, digest: digest, ranges: ranges)

        #expect(answers == Self.slices(blob, ranges))
        #expect(log.ranges == ["bytes=50-4195,1000000-1065535,2000000-2000000,\(end - 728)-\(end - 1)"])
        #expect(log.outcomes == [.answered(206, multipart: true)])
    }

    @Test(
        "a blob store that answers several ranges with the whole blob (S3, GCS) or the first range only",
        arguments: ["whole", "first"])
    func aBlobStoreWithoutMultiRangeGetsSingleRangesAndNoCredentials(mode: String) async throws {
        let directory = try TemporaryDirectory(prefix: "ocicred-ranges")
        defer { directory.remove() }
        let storeRoot = directory.file("blob-root")
        let store = try FixtureServer(
            script: "blob_store.py",
            arguments: ["--root", storeRoot, "--plain", "--bind", "127.0.0.2", "--multi-range", mode],
            host: "127.0.0.2")
        defer { store.stop() }
        let password = Self.password()
        let registry = try RegistryFixture.start(username: "ranges", password: password, redirectBlobsTo: store.baseURL)
        defer { registry.stop() }
        try FileManager.default.createSymbolicLink(atPath: storeRoot, withDestinationPath: registry.storageDirectory)
        let log = RangeLog()
        let client = Self.client(registry.host, password: password, http: log)
        // Under the transport's default cap (4 MiB): only the cap a multi-range request sets aborts it.
        let blob = Self.blob(3 << 20)
        let digest = Digest.sha256(blob)
        try #require(try await client.pushBlob(blob, digest: digest, repository: Self.repository))

        let ranges: [Range<Int64>] = [10..<20, 2_000_000..<2_100_000, Int64(blob.count) - 5..<Int64(blob.count)]
        let answers = try await client.fetchBlobRanges(repository: Self.repository, digest: digest, ranges: ranges)
        #expect(answers == Self.slices(blob, ranges))
        let first = try #require(log.outcomes.first)
        if mode == "whole" {
            // Aborted as it started: the 3 MiB answer was larger than the ranges could be.
            guard case .failed(.tooLarge) = first else {
                Issue.record("the whole blob was not aborted: \(log.outcomes)")
                return
            }
        } else {
            #expect(first == .answered(206, multipart: false))
        }
        #expect(Array(log.outcomes.dropFirst()) == Array(repeating: .answered(206, multipart: false), count: 3))

        // The session remembers: the next fetch asks range by range at once.
        let more: [Range<Int64>] = [0..<1, 2_500_000..<2_500_100]
        #expect(
            try await client.fetchBlobRanges(repository: Self.repository, digest: digest, ranges: more)
                == Self.slices(blob, more))
        #expect(log.ranges.count == 6 && log.ranges.dropFirst().allSatisfy { !$0.contains(",") }, "\(log.ranges)")
        #expect(try store.counter("multi_range") == 1)
        #expect(try store.counter("authorization_refused") == 0, "the registry's credential reached the blob store")
        #expect(try store.counter("served") == 6)
    }

    @Test func theRegistrysTLSExceptionDoesNotReachTheBlobStore() async throws {
        let directory = try TemporaryDirectory(prefix: "ocicred-ranges-tls")
        defer { directory.remove() }
        // One certificate for both hosts: trusting it for the registry (--tls-verify=false) must not trust the store.
        let certificate = try SelfSignedCertificate.make(
            in: directory.path, name: "tls", commonName: "127.0.0.1",
            subjectAltNames: ["IP:127.0.0.1", "IP:127.0.0.2"])
        let storeRoot = directory.file("blob-root")
        let store = try FixtureServer(
            script: "blob_store.py",
            arguments: [
                "--root", storeRoot, "--cert", certificate.certificateFile, "--key", certificate.keyFile, "--bind",
                "127.0.0.2",
            ], host: "127.0.0.2")
        defer { store.stop() }
        let password = Self.password()
        let registry = try RegistryFixture.start(
            username: "ranges", password: password, tls: certificate, redirectBlobsTo: "https://127.0.0.2:\(store.port)"
        )
        defer { registry.stop() }
        try FileManager.default.createSymbolicLink(atPath: storeRoot, withDestinationPath: registry.storageDirectory)
        let client = Self.client(registry.host, password: password, http: CurlHTTPClient(), verifyTLS: false)
        let blob = Self.blob(64 << 10)
        let digest = Digest.sha256(blob)
        try #require(try await client.pushBlob(blob, digest: digest, repository: Self.repository))

        let error = await #expect(throws: RegistryError.self) {
            try await client.fetchBlobRanges(repository: Self.repository, digest: digest, ranges: [0..<10, 100..<200])
        }
        guard case .tls(let host, _)? = error else {
            Issue.record("expected a TLS failure at the blob store, got \(String(describing: error))")
            return
        }
        #expect(host == "127.0.0.2:\(store.port)")
        #expect(try store.counter("served", caFile: certificate.certificateFile) == 0)
    }
}
