import Credentials
import Refresh
import Testing

struct RefreshConfigTests {
    @Test func outputsDefaultToTheExactHostsOfTheRules() throws {
        let (config, refresh) = try parseWithRefresh(
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
        #expect(
            refresh.outputs[0]
                == .authFile(.init(path: "/run/a.json", format: .docker, registries: ["gcr.io", "ghcr.io"])))
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
        (
            "registries: [{host: a.io}]\nrefresh:\n  outputs:\n    - secret: {name: s, serviceAccounts: some}\n",
            "c.yaml:4:42: `serviceAccounts` is a list of names, or `all`"
        ),
        (
            "registries: [{host: a.io}]\nrefresh:\n  outputs:\n    - secret:\n        name: s\n"
                + "        namespaceSelector: {matchExpressions: [{key: tier, operator: Within, values: [a]}]}\n",
            "c.yaml:6:48: `operator` must be one of In, NotIn, Exists, DoesNotExist, not \"Within\""
        ),
        (
            "registries: [{host: a.io}]\nrefresh:\n  outputs:\n    - secret:\n        name: s\n"
                + "        namespaceSelector: {matchExpressions: [{key: tier, operator: In}]}\n",
            "c.yaml:6:48: `operator: In` needs a non-empty `values` list"
        ),
        (
            "registries: [{host: a.io}]\nrefresh:\n  outputs:\n    - secret:\n        name: s\n"
                + "        namespaceSelector: {matchExpressions: [{key: tier, operator: Exists, values: [x]}]}\n",
            "c.yaml:6:48: `operator: Exists` takes no `values`"
        ),
        (
            "registries: [{host: a.io}]\nrefresh:\n  outputs:\n    - secret:\n        name: s\n"
                + "        namespaceSelector: {matchLabelz: {a: b}}\n",
            "c.yaml:6:29: unknown key `matchLabelz`"
        ),
        (
            "registries: [{host: a.io}]\nrefresh:\n  outputs:\n    - secret: {name: s, prune: sometimes}\n",
            "c.yaml:4:32: `prune` must be true or false"
        ),
    ])
    func mistakesArePointedAt(text: String, expected: String) {
        #expect(throws: ConfigError.self) { try parseWithRefresh(text, file: "c.yaml") }
        do {
            _ = try parseWithRefresh(text, file: "c.yaml")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        }
    }

    /// Label selectors as Kubernetes writes them (metav1.LabelSelector), beside the name globs; both must agree.
    @Test func namespaceSelectorsTakeLabelsAndServiceAccountsTakeAll() throws {
        let (_, refresh) = try parseWithRefresh(
            """
            registries: [{host: a.io}]
            refresh:
              outputs:
                - secret:
                    name: pull
                    prune: false
                    serviceAccounts: all
                    namespaceSelector:
                      exclude: ["kube-*"]
                      matchLabels: {pull-secrets: ocicred}
                      matchExpressions:
                        - {key: tier, operator: In, values: [web, batch]}
                        - {key: legacy, operator: DoesNotExist}
            """, file: "c.yaml")
        guard case .secret(let secret) = refresh.outputs.first else {
            Issue.record("not a secret")
            return
        }
        #expect(secret.allServiceAccounts && secret.serviceAccounts.isEmpty && !secret.prune)
        let selector = try #require(secret.namespaceSelector)
        let chosen = ["pull-secrets": "ocicred", "tier": "web"]
        #expect(selector.matches("team-a", labels: chosen))
        #expect(!selector.matches("kube-public", labels: chosen), "the glob still excludes")
        #expect(!selector.matches("team-a", labels: ["tier": "web"]), "matchLabels missing")
        #expect(!selector.matches("team-a", labels: chosen.merging(["tier": "db"]) { $1 }), "In")
        #expect(!selector.matches("team-a", labels: chosen.merging(["legacy": ""]) { $1 }), "DoesNotExist")
        #expect(secret.selects("team-a", labels: chosen, home: "ocicred"))
        let listed = RefreshConfig.SecretOutput(name: "s", namespaces: ["x"], registries: ["a.io"])
        #expect(
            listed.selects("x", labels: [:], home: "ocicred")
                && !listed.selects("ocicred", labels: [:], home: "ocicred"))
        let home = RefreshConfig.SecretOutput(name: "s", registries: ["a.io"])
        #expect(
            home.selects("ocicred", labels: [:], home: "ocicred") && !home.selects("x", labels: [:], home: "ocicred"))
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
        #expect(throws: ConfigError.self) { try parseWithRefresh(text, file: "c.yaml") }
        do {
            _ = try parseWithRefresh(text, file: "c.yaml")
        } catch {
            #expect(
                error.description
                    == "c.yaml:6:17: no registries to write: the hosts of the top-level `registries:` are all "
                    + "wildcards (*.dkr.ecr.*.amazonaws.com, *.azurecr.io), which a refresh cannot write ahead of "
                    + "time; list the registry hosts this output should hold under its `registries:`",
                "\(error.description)")
        }
        let listed = try parseWithRefresh(
            text.replacingOccurrences(
                of: "{path: /run/a.json}",
                with: "{path: /run/a.json, registries: [123456789012.dkr.ecr.eu-west-1.amazonaws.com]}"),
            file: "c.yaml")
        #expect(listed.1.outputs.first?.registries == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"])
    }

    /// The rules and the `refresh:` section, as `ocicred refresh` reads a config.
    func parseWithRefresh(_ text: String, file: String) throws(ConfigError) -> (OcicredConfig, RefreshConfig) {
        let document = try ConfigParser.parseDocument(text, file: file)
        return (document.config, try RefreshConfig.parse(document))
    }
}
