import SystemSupport
import Testing

/// The one URL parser: RFC 3986 reference resolution (its own examples), origins, redaction and loopback.
@Suite("HTTPURL")
struct HTTPURLTests {
    /// RFC 3986 §5.4.1 "normal examples", base http://a/b/c/d;p?q (those an http URL can express).
    @Test(arguments: [
        ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"), ("/g", "http://a/g"),
        ("//g", "http://g/"), ("?y", "http://a/b/c/d;p?y"), ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q"),
        ("g#s", "http://a/b/c/g"), ("g?y#s", "http://a/b/c/g?y"), (";x", "http://a/b/c/;x"),
        ("g;x", "http://a/b/c/g;x"),
        ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"), ("./", "http://a/b/c/"), ("..", "http://a/b/"),
        ("../", "http://a/b/"), ("../g", "http://a/b/g"), ("../..", "http://a/"), ("../../", "http://a/"),
        ("../../g", "http://a/g"), ("https://other:8443/x?y", "https://other:8443/x?y"),
    ])
    func resolvesAsRFC3986Says(reference: String, expected: String) throws {
        #expect(try HTTPURL("http://a/b/c/d;p?q").resolving(reference).string == expected)
    }

    @Test func originsRedactionAndLoopback() throws {
        let registry = try HTTPURL("https://Registry.Example:443/v2/")
        #expect(registry.isSameOrigin(as: try HTTPURL("https://registry.example/v2/x")))
        #expect(!registry.isSameOrigin(as: try HTTPURL("http://registry.example/v2/")))
        #expect(!registry.isSameOrigin(as: try HTTPURL("https://registry.example:5000/v2/")))
        #expect(try HTTPURL("https://s3.example/blob?X-Amz-Signature=secret").redacted == "https://s3.example/blob")
        #expect(HTTPURL.redact("https://user:pw@host/p?q") == "https://host/p")
        #expect(throws: HTTPURL.Invalid.credentialsInURL("https://host/p")) { try HTTPURL("https://user:pw@host/p") }
        #expect(throws: HTTPURL.Invalid.self) { try HTTPURL("ftp://host/") }
        #expect(throws: HTTPURL.Invalid.self) { try HTTPURL("https://host:99999/") }
        #expect(try HTTPURL("http://[::1]:5000/").isLoopback)
        #expect(try HTTPURL("http://127.8.9.10/").isLoopback)
        #expect(try HTTPURL("http://api.localhost/").isLoopback)
        #expect(try !HTTPURL("http://169.254.169.254/").isLoopback)
        #expect(try HTTPURL("http://[::1]:5000/").authority == "[::1]:5000")
    }
}
