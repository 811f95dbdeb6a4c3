import Credentials
import Testing

@Suite("config rules")
struct ConfigTests {
    let example = """
        version: 1
        registries:
          - host: "*.dkr.ecr.*.amazonaws.com"
            provider: aws
            aws:
              profile: build
              roleArn: "arn:aws:iam::123456789012:role/push"
              region: eu-west-1
          - host: cache.internal.example:5000
            alias: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
          - host: ghcr.io
            credentials: [GITHUB_USERNAME, GITHUB_TOKEN]
          - host: "*.azurecr.io"
            azure: { clientId: 3f2504e0-4f89-11d3-9a0c-0305e82c3301, tenantId: t-1 }
          - host: us-docker.pkg.dev
            gcp: { keyFile: /var/run/gcp/key.json, impersonate: pusher@p.iam.gserviceaccount.com }
        """

    @Test("every rule shape parses into the right fields")
    func parsesExample() throws {
        let config = try ConfigParser.parse(example, file: "c.yaml")
        #expect(config.rules.count == 5)
        let ecr = config.rules[0]
        #expect(ecr.provider == .aws)
        #expect(ecr.identity.awsProfile == "build")
        #expect(ecr.identity.awsRoleARN == "arn:aws:iam::123456789012:role/push")
        #expect(ecr.identity.awsRegion == "eu-west-1")
        #expect(ecr.location == "c.yaml:3:5")
        #expect(config.rules[1].alias == "123456789012.dkr.ecr.eu-west-1.amazonaws.com")
        #expect(config.rules[1].provider == nil)
        #expect(config.rules[2].provider == .static)
        #expect(config.rules[2].credentialVariables == ["GITHUB_USERNAME", "GITHUB_TOKEN"])
        #expect(config.rules[3].provider == .azure)
        #expect(config.rules[3].identity.azureClientID == "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        #expect(config.rules[4].provider == .gcp)
        #expect(config.rules[4].identity.gcpImpersonate == "pusher@p.iam.gserviceaccount.com")
    }

    @Test("rules are chosen by host, exact before wildcard")
    func ruleSelection() throws {
        let config = try ConfigParser.parse(
            """
            registries:
              - host: "*.example.com"
                credentials: [A_USER, A_PASS]
              - host: special.example.com
                credentials: [B_USER, B_PASS]
            """, file: "c.yaml")
        #expect(config.rule(for: "special.example.com")?.credentialVariables == ["B_USER", "B_PASS"])
        #expect(config.rule(for: "other.example.com")?.credentialVariables == ["A_USER", "A_PASS"])
        #expect(config.rule(for: "example.com") == nil)
        #expect(config.rule(for: "a.b.example.com") == nil)
    }

    @Test(
        "errors point at file:line:column",
        arguments: [
            (
                "registries:\n  - host: a.example\n    provider: aws\n    aws:\n      rolearn: x\n", 5, 7,
                "unknown key `rolearn`"
            ),
            ("registries:\n  - host: a.example\n    provider: vault\n", 3, 15, "`provider` must be one of"),
            ("registries:\n  - provider: aws\n", 2, 5, "needs `host:`"),
            ("registries:\n  - host: a.example\n    credentials: GITHUB_TOKEN\n", 3, 18, "must be a list"),
            (
                "registries:\n  - host: a.example\n    credentials: [ghp_notAName]\n", 3, 19,
                "not an environment variable name"
            ),
            (
                "registries:\n  - host: a.example\n    provider: gcp\n    aws: {profile: x}\n", 4, 10,
                "`aws` settings on a rule whose provider is gcp"
            ),
            ("registries:\n  - host: a.example\n    provider: static\n", 2, 5, "needs `credentials"),
            ("version: 2\n", 1, 10, "`version` must be 1"),
            ("registrys: []\n", 1, 1, "unknown key `registrys`"),
            ("registries:\n  - host: a.example\n    aws: {profile: yes}\n", 3, 20, "must be a string"),
            ("registries:\n  - host: [a\n", 3, 1, "YAML syntax"),
            ("registries: {}\n", 1, 13, "must be a list"),
            ("registries:\n  - host: a.example\n    host: b.example\n", 3, 5, "given twice"),
            ("registries:\n  - host: a/b\n", 2, 11, "not a host pattern"),
        ])
    func errors(yaml: String, line: Int, column: Int, fragment: String) {
        do throws(ConfigError) {
            _ = try ConfigParser.parse(yaml, file: "/etc/ocicred.yaml")
            Issue.record("no error for \(yaml)")
        } catch {
            #expect(error.file == "/etc/ocicred.yaml")
            #expect(error.line == line, "\(error)")
            #expect(error.column == column, "\(error)")
            #expect(error.message.contains(fragment), "\(error)")
        }
    }

    @Test("a pasted secret in credentials is not echoed in the error")
    func noEcho() {
        do throws(ConfigError) {
            _ = try ConfigParser.parse(
                "registries:\n  - host: a.example\n    credentials: [ghp_SuperSecret123]\n", file: "c")
            Issue.record("accepted")
        } catch {
            #expect(!error.description.contains("SuperSecret"))
        }
    }

    @Test("an empty file is an empty config")
    func empty() throws {
        #expect(try ConfigParser.parse("", file: "c").rules.isEmpty)
        #expect(try ConfigParser.parse("# nothing\n", file: "c").rules.isEmpty)
    }

    @Test(
        "host patterns match within one label",
        arguments: [
            ("*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com", true),
            ("*.dkr.ecr.*.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", false),
            ("*.dkr.ecr.*.amazonaws.com", "a.b.dkr.ecr.us-east-1.amazonaws.com", false),
            ("*.azurecr.io", "MyReg.AzureCR.io", true),
            ("*.azurecr.io", "azurecr.io", false),
            ("registry.example.com:5000", "registry.example.com:5000", true),
            ("registry.example.com:5000", "registry.example.com", false),
            ("*-docker.pkg.dev", "europe-west1-docker.pkg.dev", true),
            ("gcr.io", "eu.gcr.io", false),
        ])
    func hostPatterns(pattern: String, host: String, matches: Bool) throws {
        #expect(try #require(HostPattern(pattern)).matches(host) == matches)
    }
}
