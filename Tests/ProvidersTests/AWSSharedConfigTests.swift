import Credentials
import SystemSupport
import Testing

@testable import Providers

@Suite struct AWSSharedConfigTests {
    @Test func configFileUsesProfilePrefixAndCredentialsFileDoesNot() {
        let config = AWSSharedConfig.parse(
            """
            # comment
            [default]
            region = us-east-1
            [profile dev]
            role_arn = arn:aws:iam::123456789012:role/dev ; inline comment
            source_profile = base
            [base]
            aws_access_key_id = ignored-bare-section-in-config
            [sso-session corp]
            sso_start_url = https://example.awsapps.com/start
            """, isConfigFile: true)
        #expect(config["default"] == ["region": "us-east-1"])
        #expect(config["dev"] == ["role_arn": "arn:aws:iam::123456789012:role/dev", "source_profile": "base"])
        #expect(config["base"] == nil)
        #expect(config["corp"] == nil)

        let credentials = AWSSharedConfig.parse(
            """
            [base]
            AWS_Access_Key_ID = AKIDBASE
            aws_secret_access_key=secret#with-hash
            [profile notaprofile]
            aws_access_key_id = x
            """, isConfigFile: false)
        #expect(credentials["base"] == ["aws_access_key_id": "AKIDBASE", "aws_secret_access_key": "secret#with-hash"])
        #expect(credentials["notaprofile"] == nil && credentials["profile notaprofile"] == nil)
    }

    @Test func credentialsFileWinsKeyByKey() {
        let merged = AWSSharedConfig.merge(
            config: ["dev": ["region": "eu-west-1", "aws_access_key_id": "FROMCONFIG"]],
            credentials: ["dev": ["aws_access_key_id": "FROMCREDENTIALS", "aws_secret_access_key": "s"]])
        #expect(
            merged.profile("dev")?.values
                == ["region": "eu-west-1", "aws_access_key_id": "FROMCREDENTIALS", "aws_secret_access_key": "s"])
    }

    @Test func subPropertiesAndProfileDefaultPrecedence() {
        let config = AWSSharedConfig.parse(
            """
            [profile default]
            region = us-west-2
            s3 =
              max_concurrent_requests = 20
            output = json
            [default]
            region = ignored
            """, isConfigFile: true)
        #expect(config["default"] == ["region": "us-west-2", "output": "json"])
    }

    @Test func pathsFollowTheEnvironmentAndExpandTilde() {
        let env = OcicredEnvironment([
            "HOME": "/home/u", "AWS_CONFIG_FILE": "~/cfg", "AWS_SHARED_CREDENTIALS_FILE": "/c",
        ])
        #expect(AWSSharedConfig.paths(env) == ("/home/u/cfg", "/c"))
        #expect(AWSSharedConfig.paths(OcicredEnvironment(["HOME": "/h"])) == ("/h/.aws/config", "/h/.aws/credentials"))
    }

    @Test func credentialProcessCommandLinesSplitLikeShlex() throws {
        #expect(
            try CredentialProcess.split("/bin/tool --profile 'a b' \"c \\\"d\\\"\" e\\ f") == [
                "/bin/tool", "--profile", "a b", "c \"d\"", "e f",
            ])
        #expect(try CredentialProcess.split("  x  ") == ["x"])
        #expect(try CredentialProcess.split("a ''") == ["a", ""])
        #expect(throws: CredentialProcess.SplitError.self) { try CredentialProcess.split("a 'b") }
    }
}
