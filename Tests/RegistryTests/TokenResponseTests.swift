import Credentials
import Foundation
import Registry
import Testing

/// Token server answers as distribution's token spec and its OAuth2 variant write them.
struct TokenResponseTests {
    func parse(_ json: String) throws(TokenResponseError) -> TokenResponse { try TokenResponse.parse(Array(json.utf8)) }

    @Test func readsTokenExpiryIssuedAtAndRefreshToken() throws {
        let response = try parse(
            #"""
            {"token":"abc.def.ghi","access_token":"abc.def.ghi","expires_in":300,
             "issued_at":"2024-05-01T12:00:00Z","refresh_token":"r-1"}
            """#)
        #expect(response.token.exposedValue == "abc.def.ghi")
        #expect(response.expiresIn == 300)
        #expect(response.issuedAt == Date(timeIntervalSince1970: 1_714_564_800))
        #expect(response.refreshToken?.exposedValue == "r-1")
    }

    @Test func accessTokenAloneIsEnough() throws {
        let response = try parse(#"{"access_token":"oauth-style","expires_in":30}"#)
        #expect(response.token.exposedValue == "oauth-style")
        #expect(response.expiresIn == 30, "a short lifetime is kept, not raised to 60")
    }

    @Test func tokenWinsOverAccessToken() throws {
        #expect(try parse(#"{"token":"first","access_token":"second"}"#).token.exposedValue == "first")
        #expect(try parse(#"{"token":"","access_token":"second"}"#).token.exposedValue == "second")
    }

    @Test(arguments: [
        #"{"token":"t"}"#, #"{"token":"t","expires_in":0}"#, #"{"token":"t","expires_in":-5}"#,
        #"{"token":"t","expires_in":null}"#,
    ])
    func lifetimeDefaultsToSixtySeconds(_ json: String) throws {
        #expect(try parse(json).expiresIn == 60)
    }

    @Test func fractionalExpiryIsTruncated() throws {
        #expect(try parse(#"{"token":"t","expires_in":90.7}"#).expiresIn == 90)
    }

    @Test(arguments: [
        ("", TokenResponseError.notJSON), ("not json", .notJSON), ("[1,2]", .notJSON),
        (#"{"expires_in":60}"#, .missingToken), (#"{"token":""}"#, .missingToken),
        (#"{"token":"t","issued_at":"yesterday"}"#, .invalidIssuedAt),
        (#"{"token":"t","expires_in":"60"}"#, .notJSON),
    ])
    func rejectsUnusableAnswers(_ json: String, _ expected: TokenResponseError) {
        #expect(throws: expected) { try parse(json) }
    }

    @Test func errorsNeverQuoteTheBody() {
        do throws(TokenResponseError) {
            _ = try parse(#"{"token":"","secret-looking":"s3cr3t"}"#)
            Issue.record("expected a failure")
        } catch {
            #expect(!error.description.contains("s3cr3t"))
        }
    }

    @Test func expiryCountsFromIssuedAtOnlyWhenItIsEarlier() throws {
        let received = Date(timeIntervalSince1970: 1_000_000)
        let earlier = TokenResponse(token: Secret("t"), expiresIn: 60, issuedAt: received.addingTimeInterval(-10))
        #expect(earlier.expiresAt(receivedAt: received) == received.addingTimeInterval(50))
        let ahead = TokenResponse(token: Secret("t"), expiresIn: 60, issuedAt: received.addingTimeInterval(3600))
        #expect(ahead.expiresAt(receivedAt: received) == received.addingTimeInterval(60))
        let none = TokenResponse(token: Secret("t"), expiresIn: 30)
        #expect(none.expiresAt(receivedAt: received) == received.addingTimeInterval(30))
    }

    @Test(arguments: [
        ("2024-05-01T12:00:00Z", 1_714_564_800.0),
        ("2024-05-01T12:00:00.5Z", 1_714_564_800.5),
        ("2024-05-01T12:00:00.123456789Z", 1_714_564_800.123456789),
        ("2024-05-01T14:00:00+02:00", 1_714_564_800.0),
        ("2024-05-01T07:30:00-04:30", 1_714_564_800.0),
        ("1970-01-01T00:00:00Z", 0.0),
        ("2000-02-29T00:00:00z", 951_782_400.0),
    ])
    func issuedAtAcceptsRFC3339(_ text: String, _ epoch: Double) throws {
        let response = try parse(#"{"token":"t","issued_at":"\#(text)"}"#)
        let issued = try #require(response.issuedAt)
        #expect(abs(issued.timeIntervalSince1970 - epoch) < 0.000_001, "\(text)")
    }

    @Test(arguments: [
        "2024-05-01", "2024-05-01T12:00:00", "2024-13-01T12:00:00Z", "2024-05-01T12:00:00+0200",
        "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00Z trailing",
    ])
    func issuedAtRejectsOtherTimeForms(_ text: String) {
        #expect(throws: TokenResponseError.invalidIssuedAt) { try parse(#"{"token":"t","issued_at":"\#(text)"}"#) }
    }

    @Test func grantedAccessIsReadFromTheJWTPayload() throws {
        func b64url(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let claims =
            #"{"iss":"i","access":[{"type":"repository","name":"team/app","actions":["pull"]},"#
            + #"{"type":"repository","name":"team/other","actions":["pull","push"]}]}"#
        let token = b64url(#"{"alg":"RS256"}"#) + "." + b64url(claims) + ".c2ln"
        let access = try #require(GrantedAccess.fromToken(token))
        #expect(access.count == 2)
        #expect(GrantedAccess.allows(access, action: "pull", repository: "team/app"))
        #expect(!GrantedAccess.allows(access, action: "push", repository: "team/app"))
        #expect(GrantedAccess.allows(access, action: "push", repository: "team/other"))
        #expect(
            GrantedAccess.allows(
                [GrantedAccess(type: "repository", name: "x", actions: ["*"])], action: "push",
                repository: "x"))
        #expect(GrantedAccess.fromToken("opaque-token") == nil)
        #expect(GrantedAccess.fromToken(b64url("{}") + "." + b64url(#"{"sub":"x"}"#) + ".sig") == nil)
    }

    @Test func scopesRoundTrip() throws {
        let scope = try #require(RegistryScope("repository:host:5000/ns/app:pull,push"))
        #expect(scope.resourceType == "repository")
        #expect(scope.resourceName == "host:5000/ns/app")
        #expect(scope.actions == ["pull", "push"])
        #expect(scope.description == "repository:host:5000/ns/app:pull,push")
        #expect(RegistryScope("repository") == nil)
        #expect(RegistryScope("registry:catalog:*")?.actions == ["*"])
    }
}
