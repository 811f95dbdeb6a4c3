import Foundation
import TestSupport
import Testing
import Transport

extension TransportSuite {
    /// The client against a real local HTTP server: what goes out, what comes back, and how it fails.
    @Suite("CurlHTTPClient exchanges")
    struct CurlHTTPClientTests {
        let client = CurlHTTPClient()

        @Test func getSendsHeadersAndReturnsStatusHeadersAndBody() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let response = try await client.send(
                HTTPRequest(
                    url: fixture.url("/echo?a=1"), headers: [("X-Request-Id", "r-1"), ("Accept", "application/json")]))

            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.headers.allSatisfy { $0.name == $0.name.lowercased() })
            #expect(response.url == fixture.url("/echo?a=1"))
            let echo = try Echo(response)
            #expect(echo.method == "GET")
            #expect(echo.headers["x-request-id"] == "r-1")
            #expect(echo.headers["accept"] == "application/json")
            #expect(echo.headers["user-agent"] == "ocicred")
            #expect(echo.headers["expect"] == nil)
        }

        @Test func postSendsTheBodyAsIsWithoutAFormContentType() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let response = try await client.send(
                HTTPRequest(
                    method: "POST", url: fixture.url("/echo"), headers: [("Authorization", "Bearer t0k")],
                    body: Array(#"{"grant_type":"x"}"#.utf8)))

            let echo = try Echo(response)
            #expect(echo.method == "POST")
            #expect(echo.body == #"{"grant_type":"x"}"#)
            #expect(echo.headers["authorization"] == "Bearer t0k")
            #expect(echo.headers["content-length"] == "18")
            #expect(echo.headers["content-type"] == nil)
        }

        @Test func putWithoutBodySendsContentLengthZeroAndKeepsCallerContentType() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let response = try await client.send(
                HTTPRequest(method: "PUT", url: fixture.url("/echo"), headers: [("Content-Type", "application/json")]))

            let echo = try Echo(response)
            #expect(echo.method == "PUT")
            #expect(echo.headers["content-length"] == "0")
            #expect(echo.headers["content-type"] == "application/json")
        }

        @Test func errorStatusesAreResponsesNotErrors() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            for status in [401, 404, 500] {
                let response = try await client.send(HTTPRequest(url: fixture.url("/status/\(status)")))
                #expect(response.status == status)
            }
        }

        @Test func manyConcurrentRequestsAllComplete() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await client.send(HTTPRequest(url: fixture.url("/status/\(200 + index % 5)"))).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.sorted() == (0..<20).map { 200 + $0 % 5 }.sorted())
        }

        // MARK: - Size cap

        @Test func bodyOfExactlyTheLimitIsAccepted() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let response = try await client.send(
                HTTPRequest(url: fixture.url("/big?bytes=1000"), maxResponseBytes: 1000))
            #expect(response.body.count == 1000)
        }

        @Test func headOfALargeResourceIsNotCappedByItsContentLength() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let response = try await client.send(
                HTTPRequest(method: "HEAD", url: fixture.url("/big?bytes=100000"), maxResponseBytes: 1000))
            #expect(response.status == 200)
            #expect(response.header("content-length") == "100000")
            #expect(response.body.isEmpty)
        }

        @Test(arguments: ["/big?bytes=100000", "/stream?bytes=100000"])
        func bodyPastTheLimitFailsTooLarge(path: String) async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let result = await failure {
                try await client.send(HTTPRequest(url: fixture.url(path), maxResponseBytes: 1000))
            }
            #expect(result.error == .tooLarge(host: "127.0.0.1:\(fixture.port)", limit: 1000))
        }

        // MARK: - Timeouts and unreachable peers

        @Test func slowServerFailsTimedOutWithinTheTimeout() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            // The server answers after 30 s; a timeout that is not enforced waits that long or returns its 200.
            // The bound is half of that, generous for a loaded machine, tight enough to tell the two apart.
            let result = await failure {
                try await client.send(HTTPRequest(url: fixture.url("/slow?seconds=30"), timeout: .seconds(1)))
            }
            #expect(result.error == .timedOut(host: "127.0.0.1:\(fixture.port)", seconds: 1))
            #expect(result.seconds < 15)
        }

        @Test func timeoutIsADeadlineAcrossRedirects() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            // Each hop alone fits in the timeout, with a second to spare; together they do not. A per-hop timeout
            // returns the second hop's 200 instead.
            let second = "/slow?seconds=2"
            let first = "/slow?seconds=2&redirect=" + second.queryEscaped
            let result = await failure {
                try await client.send(HTTPRequest(url: fixture.url(first), timeout: .seconds(3)))
            }
            guard case .timedOut = result.error else {
                Issue.record("expected timedOut, got \(String(describing: result.error))")
                return
            }
            // The first hop was followed before the deadline struck: it ran out during the second.
            #expect(result.seconds >= 2)
        }

        @Test func closedPortFailsUnreachableAtOnce() async throws {
            let port = try FreePort.pick()
            let result = await failure {
                try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/v2/"))
            }
            guard case .unreachable(let host, let reason) = result.error else {
                Issue.record("expected unreachable, got \(String(describing: result.error))")
                return
            }
            #expect(host == "127.0.0.1:\(port)")
            #expect(!reason.isEmpty)
            // A refused connect is final: retrying it would run into the 10 s connect timeout and fail timedOut.
            // Half that is generous on a loaded machine and still tells "at once" from "after retries".
            #expect(result.seconds < 5)
        }

        @Test func aConnectThatHangsFailsWithinTheConnectTimeout() async throws {
            // A loopback port whose connects hang, as an unreachable host's do: no packet leaves 127.0.0.1.
            // Without the connect timeout only the 60 s total timeout ends it; half that tells the two apart.
            let stalled = try StalledListener()
            let result = await failure {
                try await client.send(
                    HTTPRequest(
                        url: "http://127.0.0.1:\(stalled.port)/v2/", timeout: .seconds(60), connectTimeout: .seconds(1))
                )
            }
            #expect(
                result.error == .timedOut(host: "127.0.0.1:\(stalled.port)", seconds: 1),
                "\(String(describing: result.error))")
            #expect(result.seconds < 30)
            withExtendedLifetime(stalled) {}
        }

        @Test func cancellingTheTaskAbortsTheTransfer() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let start = ContinuousClock.now
            let task = Task { () async throws(HTTPError) -> HTTPResponse in
                try await client.send(HTTPRequest(url: fixture.url("/slow?seconds=20")))
            }
            try await Task.sleep(for: .milliseconds(200))
            task.cancel()
            let result = await task.result
            #expect(throws: HTTPError.cancelled(host: "127.0.0.1:\(fixture.port)")) { try result.get() }
            // Not aborted, the transfer lasts the server's 20 s; half that is generous and still tells them apart.
            #expect(ContinuousClock.now - start < .seconds(10))
        }

        // MARK: - Refused before anything is sent

        @Test(arguments: ["ftp://127.0.0.1/file", "not a url", "http:///path", "file:///etc/passwd"])
        func nonHTTPURLsAreInvalid(url: String) async {
            let result = await failure { try await client.send(HTTPRequest(url: url)) }
            guard case .invalidURL = result.error else {
                Issue.record("expected invalidURL, got \(String(describing: result.error))")
                return
            }
        }

        @Test func credentialsInTheURLAreRefusedAndNotRepeated() async {
            let result = await failure {
                try await client.send(HTTPRequest(url: "http://user:hunter2@127.0.0.1:1/v2/?token=abc"))
            }
            guard case .invalidURL(let shown) = result.error else {
                Issue.record("expected invalidURL, got \(String(describing: result.error))")
                return
            }
            #expect(!shown.contains("hunter2"))
            #expect(!shown.contains("abc"))
        }

        @Test func headerValueWithALineBreakIsRefusedWithoutEchoingIt() async throws {
            let fixture = try await HTTPFixture.start()
            defer { fixture.stop() }

            let result = await failure {
                try await client.send(
                    HTTPRequest(url: fixture.url("/echo"), headers: [("Authorization", "Bearer s3cret\r\nX-Evil: 1")]))
            }
            guard case .other(_, let reason) = result.error else {
                Issue.record("expected other, got \(String(describing: result.error))")
                return
            }
            #expect(!reason.contains("s3cret"))
            #expect(!(result.error?.description.contains("s3cret") ?? true))
        }

        @Test func missingLibraryFailsLibraryUnavailable() async {
            let client = CurlHTTPClient(
                configuration: TransportConfiguration(libraryPath: "libcurl-ocicred-missing.so.9"))
            let result = await failure {
                try await client.send(HTTPRequest(url: "http://127.0.0.1:1/"))
            }
            guard case .libraryUnavailable(let reason) = result.error else {
                Issue.record("expected libraryUnavailable, got \(String(describing: result.error))")
                return
            }
            #expect(reason.contains("libcurl-ocicred-missing.so.9"))
        }
    }
}
