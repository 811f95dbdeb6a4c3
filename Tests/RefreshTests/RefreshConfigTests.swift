import Credentials
import Testing

struct RefreshConfigTests {
    @Test func outputsDefaultToTheExactHostsOfTheRules() throws {
        let (config, refresh) = try ConfigParser.parseWithRefresh(
            """
            registries:
              - host: gcr.io
              - host: "*.azurecr.io"
              - host: ghcr.io
                credentials: [GH_USER, GH_TOKEN]
            refresh:
              minInterval: 10s
              retry: {initial: 2s, max: 5m}
              outputs:
                - authFile: {path: /run/a.json, format: docker}
                - secret:
                    name: pull
                    namespaceSelector: {include: ["team-*"], exclude: ["team-x"]}
                    serviceAccounts: [default]
                    registries: [ghcr.io]
            """, file: "c.yaml")
        #expect(config.rules.count == 3)
        #expect(refresh.minInterval == 10 && refresh.retryInitial == 2 && refresh.retryMax == 300)
        #expect(refresh.outputs[0] == .authFile(.init(path: "/run/a.json", format: .docker, registries: ["gcr.io", "ghcr.io"])))
        guard case .secret(let secret) = refresh.outputs[1] else { Issue.record("not a secret"); return }
        #expect(secret.registries == ["ghcr.io"] && secret.serviceAccounts == ["default"])
        #expect(secret.namespaceSelector?.matches("team-a") == true)
        #expect(secret.namespaceSelector?.matches("team-x") == false)
        #expect(secret.namespaceSelector?.matches("kube-system") == false)
    }

    @Test(arguments: [
        ("refresh:\n  outputs:\n    - authFile: {format: docker}\n", "c.yaml:3:17: `authFile` needs `path:`"),
        ("refresh:\n  minInterval: soon\n", "c.yaml:2:16: `minInterval` must be a positive duration"),
        ("refresh:\n  outputz: []\n", "c.yaml:2:3: unknown key `outputz`"),
        ("refresh:\n  outputs:\n    - secret: {name: s}\n", "c.yaml:3:15: no registries to write"),
    ])
    func mistakesArePointedAt(text: String, expected: String) {
        #expect(throws: ConfigError.self) { try ConfigParser.parseWithRefresh(text, file: "c.yaml") }
        do {
            _ = try ConfigParser.parseWithRefresh(text, file: "c.yaml")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        }
    }

    @Test func otherCommandsAcceptTheSection() throws {
        let config = try ConfigParser.parse("registries: [{host: gcr.io}]\nrefresh: {outputs: []}\n", file: "c.yaml")
        #expect(config.rules.count == 1)
    }

    /// A wildcard rule resolves whatever host it matches when asked; a refresh writes ahead of time, so an output
    /// over wildcard-only rules must list its hosts, and the error says where (issue 13: the shipped ECR example
    /// silently wrote nothing for the registry its build pod pushed to).
    @Test func wildcardOnlyRulesNeedTheOutputToListItsHosts() throws {
        let text = """
            registries:
              - {host: "*.dkr.ecr.*.amazonaws.com", provider: aws}
              - {host: "*.azurecr.io", provider: azure}
            refresh:
              outputs:
                - authFile: {path: /run/a.json}
            """
        #expect(throws: ConfigError.self) { try ConfigParser.parseWithRefresh(text, file: "c.yaml") }
        do {
            _ = try ConfigParser.parseWithRefresh(text, file: "c.yaml")
        } catch {
            #expect(
                error.description
                    == "c.yaml:6:17: no registries to write: the hosts of the top-level `registries:` are all "
                    + "wildcards (*.dkr.ecr.*.amazonaws.com, *.azurecr.io), which a refresh cannot write ahead of "
                    + "time; list the registry hosts this output should hold under its `registries:`",
                "\(error.description)")
        }
        let listed = try ConfigParser.parseWithRefresh(
            text.replacingOccurrences(
                of: "{path: /run/a.json}",
                with: "{path: /run/a.json, registries: [123456789012.dkr.ecr.eu-west-1.amazonaws.com]}"),
            file: "c.yaml")
        #expect(listed.1.outputs.first?.registries == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"])
    }
}
