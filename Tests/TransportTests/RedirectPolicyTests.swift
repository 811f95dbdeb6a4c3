import Testing

@testable import Transport

/// The redirect rules as pure values: no server, no curl.
@Suite("RedirectPolicy")
struct RedirectPolicyTests {
    static let credentials: [(name: String, value: String)] = [
        ("Authorization", "Bearer t"), ("Proxy-Authorization", "Basic p"), ("X-Amz-Security-Token", "st"),
        ("Accept", "application/json"),
    ]

    func next(
        _ url: String, status: Int = 302, location: String?, method: String = "GET",
        sensitive: Set<String> = ["authorization", "proxy-authorization"]
    ) throws -> HTTPRequest? {
        let request = HTTPRequest(
            method: method, url: url, headers: Self.credentials, body: method == "GET" ? [] : [1, 2, 3],
            sensitiveHeaders: sensitive)
        return try RedirectPolicy.nextRequest(after: request, status: status, location: location)
    }

    func names(_ request: HTTPRequest?) -> [String] { request?.headers.map { $0.name.lowercased() } ?? [] }

    @Test(arguments: [200, 204, 300, 304, 305, 401, 404])
    func notARedirectStatusIsFinal(status: Int) throws {
        #expect(try next("https://r.example/v2/", status: status, location: "/elsewhere") == nil)
    }

    @Test func redirectWithoutLocationIsFinal() throws {
        #expect(try next("https://r.example/v2/", location: nil) == nil)
        #expect(try next("https://r.example/v2/", location: "") == nil)
    }

    @Test(arguments: [
        ("https://r.example/v2/a/blobs/x", "/storage/x?sig=1", "https://r.example/storage/x?sig=1"),
        ("https://r.example/v2/a/blobs/x", "y", "https://r.example/v2/a/blobs/y"),
        ("https://r.example/v2/a/blobs/x", "../manifests/z", "https://r.example/v2/a/manifests/z"),
        ("https://r.example/v2/", "//cdn.example/blob", "https://cdn.example/blob"),
        ("http://r.example:5000/v2/", "?last=1", "http://r.example:5000/v2/?last=1"),
    ])
    func relativeLocationIsResolvedAgainstTheCurrentURL(base: String, location: String, expected: String) throws {
        #expect(try next(base, location: location)?.url == expected)
    }

    @Test(arguments: [
        "https://r.example/other", "https://R.EXAMPLE/other", "https://r.example:443/other", "/other",
    ])
    func sameOriginKeepsEveryHeader(location: String) throws {
        #expect(
            names(try next("https://r.example/v2/", location: location))
                == names(HTTPRequest(url: "x", headers: Self.credentials)))
    }

    @Test(arguments: [
        "https://cdn.example/blob",  // host
        "https://r.example:8443/blob",  // port
        "http://r.example/blob",  // (http → http below) scheme
    ])
    func otherOriginDropsAuthorizationAndListedHeaders(location: String) throws {
        let base = location.hasPrefix("http:") ? "http://r.example:443/v2/" : "https://r.example/v2/"
        let followed = try next(base, location: location, sensitive: ["X-AMZ-Security-Token"])
        #expect(names(followed) == ["accept"])
    }

    @Test func httpToHTTPSOnTheSameHostIsAnotherOrigin() throws {
        #expect(
            names(try next("http://r.example/v2/", location: "https://r.example/v2/")) == [
                "x-amz-security-token", "accept",
            ])
    }

    @Test func httpsToHTTPIsRefusedWithoutTheQuery() throws {
        #expect(throws: HTTPError.insecureRedirect(from: "https://r.example/v2/x", to: "http://cdn.example/blob")) {
            try next("https://r.example/v2/x?token=a", location: "http://cdn.example/blob?X-Amz-Signature=s")
        }
    }

    @Test(arguments: [
        (301, "POST", "GET"), (302, "POST", "GET"), (303, "POST", "GET"), (303, "PUT", "GET"), (303, "HEAD", "HEAD"),
        (307, "POST", "POST"), (308, "PUT", "PUT"), (301, "PUT", "PUT"), (302, "DELETE", "DELETE"),
    ])
    func methodAfterRedirect(status: Int, method: String, expected: String) throws {
        let followed = try #require(try next("https://r.example/a", status: status, location: "/b", method: method))
        #expect(followed.method == expected)
        #expect(followed.body.isEmpty == (expected != method))
    }

    @Test func nonHTTPLocationIsInvalid() {
        #expect(throws: HTTPError.self) { try next("https://r.example/a", location: "ftp://r.example/b") }
    }
}
