import Registry
import Testing

/// The WWW-Authenticate grammar (RFC 9110 §11.6.1) as registries and token servers write it.
struct AuthChallengeTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var header: String
        var expected: [AuthChallenge]
        var testDescription: String { header.isEmpty ? "(empty)" : header }
    }

    static let cases: [Case] = [
        Case(
            header: #"Bearer realm="https://a/token",service="reg",scope="repository:a/b:pull,push""#,
            expected: [
                AuthChallenge(
                    scheme: "bearer",
                    parameters: [
                        "realm": "https://a/token", "service": "reg", "scope": "repository:a/b:pull,push",
                    ])
            ]),
        Case(
            header: #"Basic realm="Registry Realm""#,
            expected: [AuthChallenge(scheme: "basic", parameters: ["realm": "Registry Realm"])]),
        Case(header: "Basic", expected: [AuthChallenge(scheme: "basic")]),
        Case(
            header: "basic realm=unquoted",
            expected: [AuthChallenge(scheme: "basic", parameters: ["realm": "unquoted"])]),
        Case(
            header: #"BEARER REALM="https://x/t""#,
            expected: [AuthChallenge(scheme: "bearer", parameters: ["realm": "https://x/t"])]),
        Case(
            header: #"Bearer realm="a\"b\\c",service="s""#,
            expected: [AuthChallenge(scheme: "bearer", parameters: ["realm": #"a"b\c"#, "service": "s"])]),
        Case(
            header: #"Bearer realm = "https://x/t" , service = "s""#,
            expected: [AuthChallenge(scheme: "bearer", parameters: ["realm": "https://x/t", "service": "s"])]),
        Case(
            header: #"Basic realm="one", Bearer realm="https://two/token",service="reg""#,
            expected: [
                AuthChallenge(scheme: "basic", parameters: ["realm": "one"]),
                AuthChallenge(scheme: "bearer", parameters: ["realm": "https://two/token", "service": "reg"]),
            ]),
        Case(
            header: #"Negotiate, Basic realm="r""#,
            expected: [AuthChallenge(scheme: "negotiate"), AuthChallenge(scheme: "basic", parameters: ["realm": "r"])]),
        Case(
            header: "Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag==",
            expected: [AuthChallenge(scheme: "negotiate", token68: "YIIBhgYGKwYBBQUCoIIBejCCAXag==")]),
        Case(
            header:
                #"Bearer realm="https://a/token",error="insufficient_scope",scope="repository:x:pull repository:y:pull""#,
            expected: [
                AuthChallenge(
                    scheme: "bearer",
                    parameters: [
                        "realm": "https://a/token", "error": "insufficient_scope",
                        "scope": "repository:x:pull repository:y:pull",
                    ])
            ]),
        Case(
            header: #"Bearer realm="first",realm="second""#,
            expected: [AuthChallenge(scheme: "bearer", parameters: ["realm": "first"])]),
        Case(
            header: #"Bearer realm="a,b,c""#,
            expected: [AuthChallenge(scheme: "bearer", parameters: ["realm": "a,b,c"])]),
        Case(header: "", expected: []),
        Case(header: "   ,  , ", expected: []),
        Case(header: "===", expected: []),
        Case(header: #"Bearer realm="unterminated"#, expected: []),
        Case(
            header: #"Basic realm="ok", Bearer realm="broken"#,
            expected: [AuthChallenge(scheme: "basic", parameters: ["realm": "ok"])]),
        Case(header: #"Bearer realm="x" garbage"#, expected: []),
        Case(header: #"Bearer realm="""#, expected: [AuthChallenge(scheme: "bearer", parameters: ["realm": ""])]),
        Case(header: #"Basic realm="x",,"#, expected: [AuthChallenge(scheme: "basic", parameters: ["realm": "x"])]),
    ]

    @Test(arguments: cases) func parses(_ testCase: Case) {
        #expect(AuthChallenge.parse(testCase.header) == testCase.expected)
    }

    @Test func accessorsReadTheTokenParameters() throws {
        let challenge = try #require(
            AuthChallenge.parse(
                #"Bearer realm="https://auth/token",service="registry.example",scope="repository:a:pull repository:b:push""#
            ).first)
        #expect(challenge.isBearer && !challenge.isBasic)
        #expect(challenge.realm == "https://auth/token")
        #expect(challenge.service == "registry.example")
        #expect(challenge.scopes == ["repository:a:pull", "repository:b:push"])
    }

    @Test func severalHeaderFieldsAreOneList() {
        let challenges = AuthChallenge.parse(headers: [
            (name: "content-type", value: "application/json"),
            (name: "www-authenticate", value: #"Basic realm="r""#),
            (name: "WWW-Authenticate", value: #"Bearer realm="https://t",service="s""#),
        ])
        #expect(challenges.map(\.scheme) == ["basic", "bearer"])
    }
}
