import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the YAML under manifests/ as JSON values, with PyYAML (python3 is already how fixtures run).
enum ManifestFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests").path

    /// Every .yaml file below manifests/, relative to it.
    static var all: [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)
        var files = [String]()
        while let path = enumerator?.nextObject() as? String {
            if path.hasSuffix(".yaml") { files.append(path) }
        }
        return files.sorted()
    }

    static func documents(_ relativePath: String) throws -> [[String: Any]] {
        let script =
            "import json, sys, yaml\n"
            + "print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))"
        let result = try ProcessRunner.run("python3", ["-c", script, root + "/" + relativePath], timeout: 30)
        guard result.status == 0 else { throw ManifestError("\(relativePath) is not YAML: \(result.stderrText)") }
        return try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] ?? []
    }

    static func object(_ relativePath: String, kind: String, name: String? = nil) throws -> [String: Any] {
        let found = try documents(relativePath).first {
            $0["kind"] as? String == kind
                && (name == nil || ($0["metadata"] as? [String: Any])?["name"] as? String == name)
        }
        guard let found else { throw ManifestError("no \(kind) \(name ?? "") in \(relativePath)") }
        return found
    }
}

struct ManifestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// kubelet's `URLsMatchStr` (pkg/credentialprovider/keyring.go) for a bare `host[:port][/path]` glob: the
/// same number of DNS labels, each matched with Go's `filepath.Match` (fnmatch), equal ports, path prefix.
func kubeletGlobMatches(_ glob: String, _ image: String) -> Bool {
    func split(_ text: String) -> (host: String, port: String, path: String) {
        let slash = text.firstIndex(of: "/") ?? text.endIndex
        let authority = text[..<slash]
        let parts = authority.split(separator: ":", maxSplits: 1)
        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "", String(text[slash...]))
    }
    let g = split(glob), t = split(image)
    let globLabels = g.host.split(separator: ".", omittingEmptySubsequences: false)
    let targetLabels = t.host.split(separator: ".", omittingEmptySubsequences: false)
    guard globLabels.count == targetLabels.count, g.port == t.port, t.path.hasPrefix(g.path) else { return false }
    return zip(globLabels, targetLabels).allSatisfy { fnmatch(String($0), String($1), 0) == 0 }
}

@Suite struct ManifestTests {
    static let known: Set<String> = [
        "v1/Namespace", "v1/ServiceAccount", "v1/Pod", "v1/ConfigMap", "batch/v1/CronJob", "apps/v1/Deployment",
        "apps/v1/DaemonSet", "rbac.authorization.k8s.io/v1/ClusterRole",
        "rbac.authorization.k8s.io/v1/ClusterRoleBinding", "rbac.authorization.k8s.io/v1/Role",
        "rbac.authorization.k8s.io/v1/RoleBinding", "kubelet.config.k8s.io/v1/CredentialProviderConfig",
        "kustomize.config.k8s.io/v1beta1/Kustomization",
    ]

    /// Cluster objects, kustomize's file and the kubelet's file; examples/ hold ocicred configs instead.
    var kubernetesFiles: [String] { ManifestFiles.all.filter { !$0.hasPrefix("examples/") } }

    @Test func everyManifestParsesWithAKnownKindAndAPIVersion() throws {
        #expect(kubernetesFiles.count >= 8, "\(kubernetesFiles)")
        for file in kubernetesFiles {
            let documents = try ManifestFiles.documents(file)
            #expect(!documents.isEmpty, "\(file) is empty")
            for document in documents {
                let type = "\(document["apiVersion"] as? String ?? "?")/\(document["kind"] as? String ?? "?")"
                #expect(Self.known.contains(type), "\(file): unknown \(type)")
                if type != "kustomize.config.k8s.io/v1beta1/Kustomization",
                    type != "kubelet.config.k8s.io/v1/CredentialProviderConfig"
                {
                    #expect((document["metadata"] as? [String: Any])?["name"] is String, "\(file): \(type) has no name")
                }
            }
        }
    }

    @Test func theKustomizationNamesEveryClusterManifestAndExistingFiles() throws {
        let kustomization = try ManifestFiles.object("kustomization.yaml", kind: "Kustomization")
        let resources = Set(kustomization["resources"] as? [String] ?? [])
        let clusterFiles = Set(kubernetesFiles).subtracting([
            "kustomization.yaml", "kubelet/credential-provider-config.yaml",
        ])
        #expect(resources == clusterFiles)
        for generator in kustomization["configMapGenerator"] as? [[String: Any]] ?? [] {
            for entry in generator["files"] as? [String] ?? [] {
                let file = String(entry.split(separator: "=").last!)
                #expect(FileManager.default.fileExists(atPath: ManifestFiles.root + "/" + file), "\(entry)")
            }
        }
    }

    @Test func theRefreshSidecarIsANativeSidecarSharingTheAuthFileWithBuildah() throws {
        let pod = try ManifestFiles.object("sidecar/buildah-pod.yaml", kind: "Pod")
        let spec = try #require(pod["spec"] as? [String: Any])
        let sidecars = (spec["initContainers"] as? [[String: Any]] ?? []).filter {
            $0["restartPolicy"] as? String == "Always"
        }
        let sidecar = try #require(sidecars.first, "no init container with restartPolicy: Always")
        #expect((sidecar["args"] as? [String])?.first == "refresh")
        #expect(!((sidecar["args"] as? [String]) ?? []).contains("--once"))
        let buildah = try #require((spec["containers"] as? [[String: Any]])?.first)
        #expect((buildah["image"] as? String)?.contains("buildah") == true)

        func authFile(_ container: [String: Any]) -> String? {
            (container["env"] as? [[String: Any]])?.first { $0["name"] as? String == "REGISTRY_AUTH_FILE" }?["value"]
                as? String
        }
        func mount(_ container: [String: Any], covering path: String) -> String? {
            (container["volumeMounts"] as? [[String: Any]])?.first {
                path.hasPrefix(($0["mountPath"] as? String ?? "") + "/")
            }?["name"] as? String
        }
        let path = try #require(authFile(sidecar))
        #expect(authFile(buildah) == path)
        let volume = try #require(mount(sidecar, covering: path))
        #expect(mount(buildah, covering: path) == volume)
        let volumes = spec["volumes"] as? [[String: Any]] ?? []
        #expect(volumes.first { $0["name"] as? String == volume }?["emptyDir"] != nil)
        #expect(spec["automountServiceAccountToken"] as? Bool == false)
    }

    @Test func theCronJobRunsOnceAndTheDeploymentIsHighlyAvailable() throws {
        let cronJob = try ManifestFiles.object("refresh/cronjob.yaml", kind: "CronJob")
        let job = try #require(
            ((cronJob["spec"] as? [String: Any])?["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any])
        let jobPod = try #require((job["template"] as? [String: Any])?["spec"] as? [String: Any])
        let once = try #require((jobPod["containers"] as? [[String: Any]])?.first?["args"] as? [String])
        #expect(once.first == "refresh" && once.contains("--once"))
        #expect(jobPod["serviceAccountName"] as? String == "ocicred-refresh-once")

        let deployment = try ManifestFiles.object("refresh/deployment.yaml", kind: "Deployment")
        let spec = try #require(deployment["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 2)
        let pod = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        let args = try #require((pod["containers"] as? [[String: Any]])?.first?["args"] as? [String])
        #expect(args.first == "refresh" && !args.contains("--once"))
        #expect(pod["serviceAccountName"] as? String == "ocicred-refresh")
    }

    @Test func bindingsPointAtRolesAndServiceAccountsThatExist() throws {
        let documents = try ManifestFiles.documents("refresh/rbac.yaml")
        func names(_ kind: String) -> Set<String> {
            Set(
                documents.filter { $0["kind"] as? String == kind }.compactMap {
                    ($0["metadata"] as? [String: Any])?["name"] as? String
                })
        }
        for binding in documents where (binding["kind"] as? String)?.hasSuffix("Binding") == true {
            let roleRef = try #require(binding["roleRef"] as? [String: String])
            #expect(names(roleRef["kind"]!).contains(roleRef["name"]!), "\(roleRef)")
            for subject in binding["subjects"] as? [[String: String]] ?? [] {
                #expect(subject["kind"] == "ServiceAccount" && names("ServiceAccount").contains(subject["name"]!))
            }
        }
        let daemonSet = try ManifestFiles.object("kubelet/daemonset.yaml", kind: "DaemonSet")
        let podSpec = ((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
        #expect(podSpec?["automountServiceAccountToken"] as? Bool == false)
    }

    @Test func theKubeletProviderConfigCoversEveryCloudRegistryAndNothingElse() throws {
        let config = try ManifestFiles.object(
            "kubelet/credential-provider-config.yaml", kind: "CredentialProviderConfig")
        let provider = try #require((config["providers"] as? [[String: Any]])?.first)
        #expect(provider["apiVersion"] as? String == "credentialprovider.kubelet.k8s.io/v1")
        #expect(provider["args"] as? [String] == ["kubelet"])
        #expect(provider["name"] as? String == "ocicred")
        let patterns = try #require(provider["matchImages"] as? [String])

        var covered = [
            "public.ecr.aws/nginx/nginx:1", "ecr-public.aws.com/a/b", "gcr.io/p/app", "eu.gcr.io/p/app",
            "us-docker.pkg.dev/p/repo/app", "europe-west1-docker.pkg.dev/p/r/a", "docker.us-central1.rep.pkg.dev/p/r/a",
            "myreg.azurecr.io/app:1", "myreg.azurecr.cn/app", "myreg.azurecr.us/app",
        ]
        for suffix in [
            "amazonaws.com", "amazonaws.com.cn", "amazonaws.eu", "on.aws", "on.amazonwebservices.com.cn",
            "sc2s.sgov.gov", "c2s.ic.gov", "cloud.adc-e.uk", "csp.hci.ic.gov",
        ] {
            for service in ["dkr.ecr", "dkr.ecr-fips", "dkr-ecr", "dkr-ecr-fips"] {
                covered.append("123456789012.\(service).us-east-1.\(suffix)/team/app:1")
            }
        }
        for image in covered {
            #expect(patterns.contains { kubeletGlobMatches($0, image) }, "\(image) is not matched")
        }
        for image in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example/app",
            "evil.example/123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "gcr.io.evil.example/app", "fakegcr.io/app", "ghcr.io/o/app", "docker.io/library/nginx",
            "myreg.azurecr.io.evil/app",
            "gcr.io:5000/app",
        ] {
            #expect(!patterns.contains { kubeletGlobMatches($0, image) }, "\(image) is matched")
        }
    }
}
