import Credentials
import Crypto
import FoundationEssentials
import SystemSupport
import Testing
import Transport

@testable import Providers

@Suite struct AWSResponseParsingTests {
    private func response(_ status: Int, _ body: String, headers: [(name: String, value: String)] = [])
        -> HTTPResponse
    {
        HTTPResponse(status: status, headers: headers, body: Array(body.utf8), url: "https://x/")
    }

    @Test func ecrPrivateTokenDecodesUserPasswordAndExpiry() throws {
        let token = Base64.encode(Array("AWS:pass:with:colons".utf8))
        let body =
            #"{"authorizationData":[{"authorizationToken":"\#(token)","expiresAt":1.7E9,"#
            + #""proxyEndpoint":"https://123456789012.dkr.ecr.us-east-1.amazonaws.com"}]}"#
        let minted = try ECRClient.parseToken(Array(body.utf8), endpoint: "e")
        #expect(minted.username == "AWS")
        #expect(minted.secret.exposedValue == "pass:with:colons")
        #expect(minted.expiresAt == Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func ecrPublicTokenIsASingleObject() throws {
        let token = Base64.encode(Array("AWS:public-pass".utf8))
        let body = #"{"authorizationData":{"authorizationToken":"\#(token)","expiresAt":1700000000}}"#
        let minted = try ECRClient.parseToken(Array(body.utf8), endpoint: "e")
        #expect(minted.secret.exposedValue == "public-pass")
        #expect(minted.expiresAt == Date(timeIntervalSince1970: 1_700_000_000))
    }

    @Test func jsonErrorsStripTheNamespace() {
        let error = AWSServiceError.parse(
            response(400, #"{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"bad"}"#))
        #expect(error == AWSServiceError(code: "UnrecognizedClientException", message: "bad"))
        let headerOnly = AWSServiceError.parse(
            response(403, "{}", headers: [(name: "x-amzn-errortype", value: "AccessDeniedException:http://x")]))
        #expect(headerOnly?.code == "AccessDeniedException")
    }

    @Test func xmlErrorsAreReadForAnyService() {
        let body = """
            <?xml version="1.0" encoding="utf-8"?>
            <ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature &amp; \
            more</Message><Type>Sender</Type></Error></Errors></ErrorResponse>
            """
        let rejected = AWSServiceError.rejection(response(403, body), endpoint: "http://127.0.0.1:1")
        #expect(
            rejected
                == .rejected(
                    provider: "aws", endpoint: "http://127.0.0.1:1", code: "SignatureDoesNotMatch",
                    message: "The request signature & more"))
    }

    @Test func stsCredentialsAreReadFromTheResult() throws {
        let xml = """
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
            <Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey>
            <SessionToken>tok&amp;en</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration></Credentials>
            </AssumeRoleResult></AssumeRoleResponse>
            """
        let credentials = try STSClient.parseCredentials(xml, result: "AssumeRoleResult", endpoint: "e")
        #expect(credentials.accessKeyID == "ASIAEXAMPLE")
        #expect(credentials.secretAccessKey.exposedValue == "s3cr3t")
        #expect(credentials.sessionToken?.exposedValue == "tok&en")
        #expect(credentials.expiration == RFC3339.parse("2030-01-02T03:04:05Z"))
        #expect(!"\(credentials)".contains("s3cr3t"))
    }

    @Test func credentialProcessOutputNeedsVersionOne() throws {
        let good =
            #"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s","SessionToken":"t","#
            + #""Expiration":"2030-01-01T00:00:00Z"}"#
        let credentials = try CredentialProcess.parseOutput(Array(good.utf8), program: "p")
        #expect(credentials.sessionToken?.exposedValue == "t")
        #expect(throws: ProviderError.self) {
            try CredentialProcess.parseOutput(
                Array(#"{"Version":2,"AccessKeyId":"a","SecretAccessKey":"s"}"#.utf8),
                program: "p")
        }
    }

    @Test func endpointsFollowRegionPartitionFIPSAndOverrides() {
        let plain = AWSEndpoints(environment: OcicredEnvironment([:]))
        #expect(plain.ecr(region: "eu-west-1", fips: false).url == "https://api.ecr.eu-west-1.amazonaws.com")
        #expect(plain.ecr(region: "us-gov-west-1", fips: true).url == "https://ecr-fips.us-gov-west-1.amazonaws.com")
        #expect(plain.ecr(region: "cn-north-1", fips: false).url == "https://api.ecr.cn-north-1.amazonaws.com.cn")
        #expect(plain.sts(region: "cn-northwest-1").url == "https://sts.cn-northwest-1.amazonaws.com.cn")
        #expect(
            plain.ecrPublic()
                == .init(
                    url: "https://api.ecr-public.us-east-1.amazonaws.com", region: "us-east-1",
                    signingName: "ecr-public"))
        let overridden = AWSEndpoints(
            environment: OcicredEnvironment([
                "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:2",
            ]))
        #expect(overridden.ecr(region: "eu-west-1", fips: false).url == "http://127.0.0.1:1")
        #expect(overridden.ecr(region: "eu-west-1", fips: false).region == "eu-west-1")
        #expect(overridden.sts(region: "eu-west-1").url == "http://127.0.0.1:2")
        #expect(overridden.ecrPublic().url == "http://127.0.0.1:1")
        let ignored = AWSEndpoints(
            environment: OcicredEnvironment([
                "AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
            ]))
        #expect(ignored.sts(region: "us-east-1").url == "https://sts.us-east-1.amazonaws.com")
    }
}
