import Foundation
import TestSupport
import Testing

/// A cached token is only served for the request it was minted for, through the built binary: the same registry
/// and identity against another endpoint mints afresh there instead of being handed the first endpoint's token.
@Suite("token cache scope, through the binary", .serialized)
struct HardeningTokenScopeTests {
    let ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    let accessKey = "AKIDOCICREDFIXTURE01"
    let secretKey = "fixture/secret/key/for/ocicred/tests00"

    /// The strict ECR fixture (SigV4 verified, mints counted), handing out `password` in its tokens.
    func startECR(password: String) throws -> FixtureServer {
        try FixtureServer(
            script: "aws_fixtures.py",
            environment: [
                "AWS_FIXTURE_ACCESS_KEY_ID": accessKey, "AWS_FIXTURE_SECRET_ACCESS_KEY": secretKey,
                "AWS_FIXTURE_ECR_PASSWORD": password,
            ])
    }

    func secret(_ result: ProcessResult) throws -> String {
        try #require(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: String]
        return try #require(object?["Secret"])
    }

    @Test("an ECR token minted at one endpoint is not served for another")
    func ecrEndpointIsPartOfTheCacheKey() throws {
        let first = try startECR(password: "minted-at-first")
        defer { first.stop() }
        let second = try startECR(password: "minted-at-second")
        defer { second.stop() }
        let home = try TemporaryDirectory()
        defer { home.remove() }
        func get(_ endpoint: FixtureServer) throws -> String {
            try secret(
                OcicredBinary.helper(
                    "get", home: home.path, stdin: Data(ecrHost.utf8),
                    extraEnvironment: [
                        "AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey,
                        "AWS_ENDPOINT_URL_ECR": endpoint.baseURL, "AWS_EC2_METADATA_DISABLED": "true",
                        "AWS_CONFIG_FILE": "/nonexistent/aws/config",
                        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws/credentials",
                    ]))
        }
        #expect(try get(first) == "minted-at-first")
        #expect(try get(second) == "minted-at-second", "the first endpoint's token was served for the second")
        // Both stay cached side by side: neither endpoint is asked again.
        #expect(try get(first) == "minted-at-first")
        #expect(try get(second) == "minted-at-second")
        #expect(try first.counter("mint") == 1)
        #expect(try second.counter("mint") == 1)
    }

    @Test("a GCP token minted by one metadata server is not served for another")
    func gcpMetadataHostIsPartOfTheCacheKey() throws {
        let first = try FixtureServer(script: "gcp_fixtures.py")
        defer { first.stop() }
        let second = try FixtureServer(script: "gcp_fixtures.py")
        defer { second.stop() }
        let home = try TemporaryDirectory()
        defer { home.remove() }
        func get(_ metadata: FixtureServer) throws -> String {
            try secret(
                OcicredBinary.helper(
                    "get", home: home.path, stdin: Data("gcr.io".utf8),
                    extraEnvironment: [
                        "GCE_METADATA_HOST": "127.0.0.1:\(metadata.port)", "AWS_EC2_METADATA_DISABLED": "true",
                    ]))
        }
        let fromFirst = try get(first)
        let fromSecond = try get(second)
        #expect(fromFirst != fromSecond, "the first metadata server's token was served for the second")
        #expect(try get(first) == fromFirst, "each stays cached")
        #expect(try get(second) == fromSecond)
    }
}
