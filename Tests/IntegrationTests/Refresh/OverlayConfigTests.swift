import Foundation
import TestSupport
import Testing

/// The ocicred config each overlay ships in its ConfigMap, taken from the rendered overlay and run as that
/// workload runs it against moto (ECR, signatures checked) and the fixture API server: each one writes a
/// credential for the registry host its workload uses. The shipped ECR example used to cover only
/// public.ecr.aws, so the demo build pod's push to 123456789012.dkr.ecr… had nothing (issue 13).
@Suite(.serialized)
struct OverlayConfigTests {
    /// The rendered overlay's config.yaml, written to `directory` with the auth file output (a path inside the
    /// pod) moved into `directory`.
    static func config(
        _ overlay: String, configMap: String, in directory: TemporaryDirectory, authFile: String? = nil
    ) throws -> (path: String, objects: [[String: Any]]) {
        let objects = try RenderedManifests.objects(overlay)
        var text = try #require(RenderedManifests.configMapFile(objects, prefix: configMap), "\(overlay)")
        if let authFile {
            let path = try #require(text.firstRange(of: /path: (\S+)/))
            text.replaceSubrange(path, with: "path: \(authFile)")
        }
        let file = directory.file("\(overlay).yaml")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return (file, objects)
    }

    static func awsEnvironment(_ moto: MotoServer, config: String) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey,
            "AWS_ENDPOINT_URL": moto.endpoint, "AWS_EC2_METADATA_DISABLED": "true", "OCICRED_CONFIG": config,
            "OCICRED_CACHE": "off",
        ]
    }

    /// The ECR token in a docker config's entry for `host`: `AWS:<token>`, base64.
    static func ecrEntry(_ auths: [String: Any]?, host: String) -> String? {
        guard let auth = (auths?[host] as? [String: Any])?["auth"] as? String, let decoded = Data(base64Encoded: auth)
        else { return nil }
        let text = String(decoding: decoded, as: UTF8.self)
        return text.hasPrefix("AWS:") && text.count > 10 ? "AWS" : nil
    }

    @Test(arguments: [
        ("sidecar-example", "ocicred-sidecar-config"), ("refresh-deployment", "ocicred-refresh-config"),
        ("refresh-cronjob", "ocicred-refresh-once-config"), ("kubelet-installer", "ocicred-kubelet"),
    ])
    func everyShippedConfigValidates(overlay: String, configMap: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (file, _) = try Self.config(overlay, configMap: configMap, in: directory)
        let result = try OcicredBinary.run(["config", "validate", file], home: directory.path)
        #expect(result.status == 0, "\(overlay): \(result)")
    }

    @Test func theSidecarConfigWritesTheRegistryTheBuildPodPushesTo() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let authFile = directory.file("auth.json")
        let (config, objects) = try Self.config(
            "sidecar-example", configMap: "ocicred-sidecar-config", in: directory, authFile: authFile)
        let pod = try #require(objects.first { RenderedManifests.kind($0) == "Pod" }.flatMap(RenderedManifests.podSpec))
        let buildah = try #require((pod["containers"] as? [[String: Any]])?.first)
        let image = try #require(
            (buildah["env"] as? [[String: Any]])?.first { $0["name"] as? String == "IMAGE" }?["value"] as? String)
        let host = String(image.prefix { $0 != "/" })
        #expect(host.contains(".dkr.ecr."), "\(image)")

        let result = try OcicredBinary.run(
            ["refresh", "--once"], home: directory.path, extraEnvironment: Self.awsEnvironment(moto, config: config))
        #expect(result.status == 0, "\(result)")
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: authFile)))
        #expect(Self.ecrEntry((written as? [String: Any])?["auths"] as? [String: Any], host: host) != nil, "\(host)")
    }

    /// The Secret-writing overlays, against the fixture API server (namespaces default, kube-system, ocicred,
    /// team-a, team-b) and moto, each pass run with `--once`. The Deployment runs it as a controller, which never
    /// GETs a ServiceAccount (it patches from what it watches), so its RBAC has no `get serviceaccounts`: that one
    /// call of a one-shot pass is not held against it (RefreshControllerTests runs the controller under the
    /// overlay's own RBAC, enforced).
    @Test(arguments: [
        ("refresh-cronjob", "ocicred-refresh-once-config", ["default"]),
        ("refresh-deployment", "ocicred-refresh-config", ["default", "team-a", "team-b"]),
    ])
    func theSecretConfigsWriteThePullSecretWhereTheirRBACAllows(
        overlay: String, configMap: String, expected: [String]
    ) async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let directory = try TemporaryDirectory(prefix: "ocicred-overlay")
        defer { directory.remove() }
        let cluster = try RefreshNamespaceSelectorTests.Cluster(directory: directory, include: ["*"], exclude: [])
        defer { cluster.stop() }
        let (config, objects) = try Self.config(overlay, configMap: configMap, in: directory)
        let registries = try #require(
            try String(contentsOfFile: config, encoding: .utf8).firstRange(
                of: /- (\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com)/))
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let host = String(text[registries].dropFirst(2))

        var environment = Self.awsEnvironment(moto, config: config)
        environment["KUBECONFIG"] = directory.file("kubeconfig")
        let result = try OcicredBinary.run(["refresh", "--once"], home: directory.path, extraEnvironment: environment)
        #expect(result.status == 0, "\(result)")

        for namespace in try cluster.namespaces() {
            let secret = try cluster.object("secrets", namespace, "ocicred-pull")
            let pullSecrets = try cluster.object("serviceaccounts", namespace, "default")?["imagePullSecrets"]
            if expected.contains(namespace) {
                let encoded = (secret?["data"] as? [String: String])?[".dockerconfigjson"] ?? ""
                let json = try? JSONSerialization.jsonObject(with: Data(base64Encoded: encoded) ?? Data())
                let holds = Self.ecrEntry((json as? [String: Any])?["auths"] as? [String: Any], host: host) != nil
                #expect(holds, "\(overlay): no ECR entry for \(host) in \(namespace)/ocicred-pull")
                #expect(pullSecrets as? [[String: String]] == [["name": "ocicred-pull"]], "\(namespace)")
            } else {
                #expect(secret == nil, "\(overlay): a Secret in \(namespace)")
            }
        }
        // Every call the client made is one the overlay's RBAC grants its service account.
        let granted = Set(
            objects.filter { ["Role", "ClusterRole"].contains(RenderedManifests.kind($0)) }
                .flatMap { $0["rules"] as? [[String: Any]] ?? [] }
                .flatMap { rule in
                    (rule["verbs"] as? [String] ?? []).flatMap { verb in
                        (rule["resources"] as? [String] ?? []).map { "\(verb) \($0)" }
                    }
                })
        let calls = (try cluster.control("GET", "/__calls") as? [[String: String]]) ?? []
        #expect(!calls.isEmpty)
        let onlyOnce: Set<String> = overlay == "refresh-deployment" ? ["get serviceaccounts"] : []
        #expect(onlyOnce.isSubset(of: Set(calls.map { "\($0["verb"] ?? "") \($0["resource"] ?? "")" })))
        for call in calls where !onlyOnce.contains("\(call["verb"] ?? "") \(call["resource"] ?? "")") {
            #expect(granted.contains("\(call["verb"] ?? "") \(call["resource"] ?? "")"), "\(overlay): \(call)")
        }
    }

    @Test func theKubeletConfigAnswersForAPrivateECRRegistry() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (config, _) = try Self.config("kubelet-installer", configMap: "ocicred-kubelet", in: directory)
        let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        let request =
            #"{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"\#(host)/team/app:1"}"#
        let result = try OcicredBinary.run(
            ["kubelet"], home: directory.path, stdin: request,
            extraEnvironment: Self.awsEnvironment(moto, config: config))
        #expect(result.status == 0, "\(result)")
        let response = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let auth = response?["auth"] as? [String: [String: String]]
        #expect(auth?[host]?["username"] == "AWS")
        #expect(auth?[host]?["password"]?.isEmpty == false)
    }

    /// manifests/examples/aws.yaml as a refresh config: its output writes the host it lists, through the role the
    /// rule pins (AssumeRole with the caller's keys, then ECR with the role's session, both signature-checked).
    @Test func theAWSExampleWritesTheHostItsOutputListsThroughItsRole() async throws {
        let moto = try await MotoServer.start()
        defer { moto.stop() }
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var text = try String(contentsOfFile: ManifestFiles.root + "/examples/aws.yaml", encoding: .utf8)
        let role = try #require(text.firstRange(of: /role\/([a-z-]+)/).map { String(text[$0].dropFirst(5)) })
        // The example's role, as an account would have it: assumable by the account's users, allowed to pull.
        try moto.allowUnauthenticatedActions(2)
        let setup = try ProcessRunner.run(
            "python3",
            [
                "-c",
                """
                import boto3, json, os, sys
                iam = boto3.client("iam", endpoint_url=os.environ["MOTO_ENDPOINT"], region_name="us-east-1",
                                   aws_access_key_id="setup", aws_secret_access_key="setup")
                allow = lambda action, principal=None: json.dumps({"Version": "2012-10-17", "Statement": [dict(
                    {"Effect": "Allow", "Action": action}, **({"Principal": principal} if principal else {"Resource": "*"}))]})
                iam.create_role(RoleName=sys.argv[1], AssumeRolePolicyDocument=allow("sts:AssumeRole", {"AWS": "*"}))
                iam.put_role_policy(RoleName=sys.argv[1], PolicyName="pull", PolicyDocument=allow("ecr:GetAuthorizationToken"))
                """,
                role,
            ],
            environment: ["MOTO_ENDPOINT": moto.endpoint, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? ""])
        try #require(setup.status == 0, "\(setup)")

        let authFile = directory.file("auth.json")
        let path = try #require(text.firstRange(of: /path: (\S+)/))
        text.replaceSubrange(path, with: "path: \(authFile)")
        let config = directory.file("aws.yaml")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try OcicredBinary.run(
            ["refresh", "--once"], home: directory.path, extraEnvironment: Self.awsEnvironment(moto, config: config))
        #expect(result.status == 0, "\(result)")
        let written = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: authFile)))
        let auths = (written as? [String: Any])?["auths"] as? [String: Any]
        let host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
        #expect(Self.ecrEntry(auths, host: host) != nil, "\(auths?.keys.sorted() ?? [])")
    }
}
