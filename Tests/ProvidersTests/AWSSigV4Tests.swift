import Credentials
import Crypto
import FoundationEssentials
import SystemSupport
import Testing
import Transport

@testable import Providers

/// AWS's published Signature Version 4 test suite (aws-sig-v4-test-suite, 2015-08-30): credentials AKIDEXAMPLE,
/// region us-east-1, service `service`, time 20150830T123600Z. Each case checks the canonical request (`.creq`),
/// the string to sign's hash line (`.sts`) and the signature (`.authz`).
struct SigV4SuiteCase: Sendable, CustomStringConvertible {
    var name: String
    var method: String
    var path: String
    var query: String = ""
    var headers: [(name: String, value: String)]
    var body: String = ""
    var canonicalRequest: String
    var canonicalRequestHash: String
    var signature: String
    var description: String { name }
}

private let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
private let suiteHost = ("Host", "example.amazonaws.com")
private let suiteDate = ("X-Amz-Date", "20150830T123600Z")
private let suiteToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

private func vanilla(_ method: String, _ path: String, query: String = "") -> String {
    "\(method)\n\(path)\n\(query)\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)"
}

let sigV4Suite: [SigV4SuiteCase] = [
    SigV4SuiteCase(
        name: "get-vanilla", method: "GET", path: "/", headers: [suiteHost, suiteDate],
        canonicalRequest: vanilla("GET", "/"),
        canonicalRequestHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    SigV4SuiteCase(
        name: "get-vanilla-empty-query-key", method: "GET", path: "/", query: "Param1=value1",
        headers: [suiteHost, suiteDate], canonicalRequest: vanilla("GET", "/", query: "Param1=value1"),
        canonicalRequestHash: "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
        signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
    SigV4SuiteCase(
        name: "get-vanilla-query-order-key", method: "GET", path: "/", query: "Param1=value2&Param1=Value1",
        headers: [suiteHost, suiteDate], canonicalRequest: vanilla("GET", "/", query: "Param1=Value1&Param1=value2"),
        canonicalRequestHash: "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
        signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
    SigV4SuiteCase(
        name: "get-vanilla-query-order-key-case", method: "GET", path: "/", query: "Param2=value2&Param1=value1",
        headers: [suiteHost, suiteDate], canonicalRequest: vanilla("GET", "/", query: "Param1=value1&Param2=value2"),
        canonicalRequestHash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
        signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    SigV4SuiteCase(
        name: "get-vanilla-query-order-value", method: "GET", path: "/", query: "Param1=value2&Param1=value1",
        headers: [suiteHost, suiteDate], canonicalRequest: vanilla("GET", "/", query: "Param1=value1&Param1=value2"),
        canonicalRequestHash: "c968629d70850097a2d8781c9bf7edcb988b04cac14cca9be4acc3595f884606",
        signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
    SigV4SuiteCase(
        name: "get-vanilla-query-unreserved", method: "GET", path: "/",
        query: "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
            + "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        headers: [suiteHost, suiteDate],
        canonicalRequest: vanilla(
            "GET", "/",
            query: "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
                + "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
        canonicalRequestHash: "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
        signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    SigV4SuiteCase(
        name: "get-vanilla-utf8-query", method: "GET", path: "/", query: "\u{1234}=bar",
        headers: [suiteHost, suiteDate], canonicalRequest: vanilla("GET", "/", query: "%E1%88%B4=bar"),
        canonicalRequestHash: "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
        signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    SigV4SuiteCase(
        name: "get-unreserved", method: "GET",
        path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", headers: [suiteHost, suiteDate],
        canonicalRequest: vanilla("GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
        canonicalRequestHash: "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
        signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    SigV4SuiteCase(
        name: "get-space", method: "GET", path: "/example space/", headers: [suiteHost, suiteDate],
        canonicalRequest: vanilla("GET", "/example%20space/"),
        canonicalRequestHash: "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
        signature: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
    SigV4SuiteCase(
        name: "get-slashes", method: "GET", path: "//example//", headers: [suiteHost, suiteDate],
        canonicalRequest: vanilla("GET", "/example/"),
        canonicalRequestHash: "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
        signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
    SigV4SuiteCase(
        name: "get-relative-relative", method: "GET", path: "/example1/example2/../..",
        headers: [suiteHost, suiteDate], canonicalRequest: vanilla("GET", "/"),
        canonicalRequestHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    SigV4SuiteCase(
        name: "get-slash-pointless-dot", method: "GET", path: "/./example", headers: [suiteHost, suiteDate],
        canonicalRequest: vanilla("GET", "/example"),
        canonicalRequestHash: "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
        signature: "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"),
    SigV4SuiteCase(
        name: "get-header-key-duplicate", method: "GET", path: "/",
        headers: [suiteHost, ("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1"), suiteDate],
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\n"
            + "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n\(emptyHash)",
        canonicalRequestHash: "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
        signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
    SigV4SuiteCase(
        name: "get-header-value-order", method: "GET", path: "/",
        headers: [
            suiteHost, ("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"),
            ("My-Header1", "value2"), suiteDate,
        ],
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\n"
            + "x-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n\(emptyHash)",
        canonicalRequestHash: "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
        signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
    SigV4SuiteCase(
        name: "get-header-value-trim", method: "GET", path: "/",
        headers: [suiteHost, ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\""), suiteDate],
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
            + "x-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n\(emptyHash)",
        canonicalRequestHash: "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
        signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    SigV4SuiteCase(
        name: "post-vanilla", method: "POST", path: "/", headers: [suiteHost, suiteDate],
        canonicalRequest: vanilla("POST", "/"),
        canonicalRequestHash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    SigV4SuiteCase(
        name: "post-vanilla-query", method: "POST", path: "/", query: "Param1=value1", headers: [suiteHost, suiteDate],
        canonicalRequest: vanilla("POST", "/", query: "Param1=value1"),
        canonicalRequestHash: "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
        signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
    SigV4SuiteCase(
        name: "post-header-key-sort", method: "POST", path: "/",
        headers: [suiteHost, ("My-Header1", "value1"), suiteDate],
        canonicalRequest: "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\n"
            + "host;my-header1;x-amz-date\n\(emptyHash)",
        canonicalRequestHash: "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
        signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
    SigV4SuiteCase(
        name: "post-header-value-case", method: "POST", path: "/",
        headers: [suiteHost, ("My-Header1", "VALUE1"), suiteDate],
        canonicalRequest: "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\n"
            + "host;my-header1;x-amz-date\n\(emptyHash)",
        canonicalRequestHash: "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
        signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
    // The suite's signed headers for this case are content-type;host;x-amz-date (its .authz and .sts agree).
    SigV4SuiteCase(
        name: "post-x-www-form-urlencoded", method: "POST", path: "/",
        headers: [("Content-Type", "application/x-www-form-urlencoded"), suiteHost, suiteDate], body: "Param1=value1",
        canonicalRequest: "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\n"
            + "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
            + "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        canonicalRequestHash: "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
        signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    SigV4SuiteCase(
        name: "post-sts-header-before", method: "POST", path: "/",
        headers: [suiteHost, suiteDate, ("X-Amz-Security-Token", suiteToken)],
        canonicalRequest: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n"
            + "x-amz-security-token:\(suiteToken)\n\nhost;x-amz-date;x-amz-security-token\n\(emptyHash)",
        canonicalRequestHash: "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
        signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
]

@Suite struct AWSSigV4Tests {
    static let suiteTime = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let signer = SigV4(
        credentials: AWSCredentials(
            accessKeyID: "AKIDEXAMPLE", secretAccessKey: Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")),
        region: "us-east-1", service: "service")

    @Test(arguments: sigV4Suite)
    func signingMatchesTheAWSTestSuite(_ suiteCase: SigV4SuiteCase) {
        let result = Self.signer.signature(
            method: suiteCase.method, path: suiteCase.path, query: suiteCase.query, headers: suiteCase.headers,
            payload: Array(suiteCase.body.utf8), date: Self.suiteTime)
        #expect(result.canonicalRequest == suiteCase.canonicalRequest)
        #expect(
            result.stringToSign
                == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
                + suiteCase.canonicalRequestHash)
        #expect(result.signature == suiteCase.signature)
        let signedHeaders =
            suiteCase.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().last.map(String.init) ?? ""
        #expect(
            result.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=\(signedHeaders), Signature=\(suiteCase.signature)")
    }

    /// `sign(_:)` adds X-Amz-Date and, for session credentials, X-Amz-Security-Token, then signs the Host it
    /// derives from the URL: the suite's post-sts-header-before, built the way the ECR/STS clients build requests.
    @Test func signAddsDateSessionTokenAndAuthorization() throws {
        let signer = SigV4(
            credentials: AWSCredentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                sessionToken: Secret(suiteToken)),
            region: "us-east-1", service: "service")
        var request = HTTPRequest(method: "POST", url: "https://example.amazonaws.com/")
        try signer.sign(&request, date: Self.suiteTime)
        let headers = Dictionary(request.headers.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        #expect(headers["X-Amz-Date"] == "20150830T123600Z")
        #expect(headers["X-Amz-Security-Token"] == suiteToken)
        #expect(
            headers["Authorization"]
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                + "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead")
        #expect(!request.headers.contains { $0.name.lowercased() == "host" }, "Host is signed, not sent by us")
    }

    @Test func signingKeyDerivationMatchesTheDocumentedExample() {
        // https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html — derived key for
        // wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20150830, us-east-1, iam.
        let key = SigV4.signingKey(
            secret: Secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), day: "20150830", region: "us-east-1",
            service: "iam")
        #expect(Hex.encode(key) == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9")
    }

    @Test func hostHeaderKeepsOnlyNonDefaultPorts() {
        #expect(AWSURL("http://127.0.0.1:5000/")?.hostHeader == "127.0.0.1:5000")
        #expect(AWSURL("https://api.ecr.us-east-1.amazonaws.com")?.hostHeader == "api.ecr.us-east-1.amazonaws.com")
        #expect(AWSURL("https://sts.amazonaws.com:443/")?.hostHeader == "sts.amazonaws.com")
        #expect(AWSURL("http://[fd00:ec2::254]/latest")?.host == "[fd00:ec2::254]")
        #expect(AWSURL("ftp://x") == nil)
    }

    @Test func timestampsRoundTrip() {
        #expect(AWSTimestamp.sigV4(Self.suiteTime) == ("20150830", "20150830T123600Z"))
        #expect(RFC3339.parse("2015-08-30T12:36:00Z") == Self.suiteTime)
        #expect(RFC3339.parse("2015-08-30T12:36:00.500Z") == Self.suiteTime.addingTimeInterval(0.5))
        #expect(RFC3339.parse("2015-08-30T14:36:00+02:00") == Self.suiteTime)
        #expect(RFC3339.parse("2015-08-30 12:36") == nil)
    }
}
