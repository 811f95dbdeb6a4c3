import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the YAML under manifests/ as JSON values, with PyYAML (python3 is already how fixtures run).
enum ManifestFiles {
    static let root = RenderedManifests.root

    static func documents(_ relativePath: String) throws -> [[String: Any]] {
        let script =
            "import json, sys, yaml\n"
            + "print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))"
        let result = try ProcessRunner.run("python3", ["-c", script, root + "/" + relativePath], timeout: 30)
        guard result.status == 0 else { throw ManifestError("\(relativePath) is not YAML: \(result.stderrText)") }
        guard let documents = try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] else {
            throw ManifestError("\(relativePath) is not a list of YAML mappings: \(result.stdoutText.prefix(200))")
        }
        return documents
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

/// manifests/ as applied: every overlay rendered by the real `kubectl kustomize` (offline), the rendered objects
/// validated strictly by `kubernetes-validate` against each Kubernetes version stated as supported and checked by
/// `checkov`, and the properties the README promises checked on what `kubectl apply -k` would send.
@Suite struct ManifestTests {
    /// The Kubernetes versions the manifests are validated against, the README's "supported" list. 1.29 is the
    /// first whose Pod has native sidecars (an init container's `restartPolicy: Always`) on by default.
    static let supportedKubernetesVersions = (29...37).map { "1.\($0).0" }
    static let overlays = ["kubelet-installer", "refresh-cronjob", "refresh-deployment", "sidecar-example", "webhook"]

    static func rendered() throws -> [String: [[String: Any]]] {
        var result = [String: [[String: Any]]]()
        for overlay in overlays { result[overlay] = try RenderedManifests.objects(overlay) }
        return result
    }

    /// Writes every overlay's rendering to DIR/OVERLAY.yaml, for the validators.
    static func renderAll(into directory: TemporaryDirectory) throws -> [String] {
        try overlays.map { overlay in
            let file = directory.file("\(overlay).yaml")
            try RenderedManifests.render(overlay).write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    static func isOcicredImage(_ container: [String: Any]) -> Bool {
        let image = container["image"] as? String ?? ""
        return image.contains("/ocicred:") || image.contains("/ocicred@")
            || image.contains("/ocicred-kubelet-installer")
    }

    /// An exec command, or nil.
    static func execCommand(_ probe: Any?) -> [String]? {
        ((probe as? [String: Any])?["exec"] as? [String: Any])?["command"] as? [String]
    }

    static func httpPath(_ probe: Any?) -> (path: String, port: String)? {
        guard let get = (probe as? [String: Any])?["httpGet"] as? [String: Any], let path = get["path"] as? String
        else { return nil }
        return (path, "\(get["port"] ?? "")")
    }

    @Test func thereIsOneOverlayPerUseAndNothingAtTheTopToApplyByAccident() throws {
        #expect(RenderedManifests.overlays == Self.overlays)
        // `kubectl apply -k manifests/` used to start the demo build pod along with everything else.
        #expect(!FileManager.default.fileExists(atPath: RenderedManifests.root + "/kustomization.yaml"))
        for overlay in Self.overlays {
            let kustomization = try ManifestFiles.object(
                "overlays/\(overlay)/kustomization.yaml", kind: "Kustomization")
            // Every file of the overlay is used: a resource, a generator's file, or the kustomization itself.
            var used: Set<String> = ["kustomization.yaml"]
            for resource in kustomization["resources"] as? [String] ?? [] where !resource.hasPrefix("..") {
                used.insert(resource)
            }
            for generator in kustomization["configMapGenerator"] as? [[String: Any]] ?? [] {
                for entry in generator["files"] as? [String] ?? [] {
                    used.insert(String(entry.split(separator: "=").last!))
                }
            }
            let present = try FileManager.default.contentsOfDirectory(
                atPath: RenderedManifests.root + "/overlays/" + overlay)
            #expect(Set(present) == used, "\(overlay)")
            let images = try #require(kustomization["images"] as? [[String: Any]], "\(overlay) has no images:")
            #expect(!images.isEmpty)
        }
    }

    @Test func kubectlKustomizeRendersEveryOverlayOffline() throws {
        for overlay in Self.overlays {
            let objects = try RenderedManifests.objects(overlay)
            #expect(objects.count >= 4, "\(overlay): \(objects.map(RenderedManifests.kind))")
            // Every object is namespaced explicitly or cluster-scoped on purpose.
            for object in objects
            where !["Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"].contains(
                RenderedManifests.kind(object))
            {
                #expect(RenderedManifests.namespace(object) != nil, "\(overlay): \(RenderedManifests.name(object))")
            }
        }
    }

    /// A fresh Debian 12 machine has kubernetes-client 1.20 (kustomize v2.0.3): the overlays render there to the
    /// same objects as with a current kubectl, ConfigMap name hashes aside (the two hash differently).
    @Test func debiansKubectlRendersTheSameObjects() throws {
        let debian = try #require(
            RenderedManifests.debianKubectl
                ?? (ProcessRunner.isInstalled("kubectl") ? ProcessRunner.resolve("kubectl") : nil),
            "helpers/test unpacks Debian's kubectl into OCICRED_DEBIAN_KUBECTL when another kubectl is installed")
        let version = try ProcessRunner.run(debian, ["version", "--client"])
        try #require(version.stdoutText.contains("v1.20."), "\(debian) is Debian 12's kubectl: \(version)")
        func withoutHashes(_ yaml: String) -> String {
            yaml.replacingOccurrences(of: #"-[a-z0-9]{10}(\n|$)"#, with: "$1", options: .regularExpression)
        }
        // The order may differ in one way: kustomize 4 and later put a MutatingWebhookConfiguration last (after the
        // workload that serves it), kustomize 2 in its legacy kind order; the objects themselves must not.
        func documents(_ yaml: String) -> [String] {
            withoutHashes(yaml).components(separatedBy: "\n---\n").map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
            }.sorted()
        }
        for overlay in Self.overlays {
            let current = try RenderedManifests.render(overlay)
            let old = try RenderedManifests.render(overlay, kubectl: debian)
            #expect(documents(old) == documents(current), "\(overlay) renders differently with \(debian)")
            if !current.contains("kind: MutatingWebhookConfiguration") {
                #expect(withoutHashes(old) == withoutHashes(current), "\(overlay) renders in another order")
            }
        }
    }

    @Test func everyRenderedObjectValidatesStrictlyAgainstEverySupportedKubernetesVersion() throws {
        try FixtureError.requirePrograms(["kubernetes-validate": "kubernetes-validate (PyPI; helpers/test installs it)"]
        )
        let directory = try TemporaryDirectory(prefix: "ocicred-validate")
        defer { directory.remove() }
        let files = try Self.renderAll(into: directory)
        for version in Self.supportedKubernetesVersions {
            let result = try ProcessRunner.run(
                "kubernetes-validate", ["--strict", "--kubernetes-version", version, "--quiet"] + files, timeout: 120)
            #expect(result.status == 0, "Kubernetes \(version): \(result)")
        }
        // The validator is strict indeed: one unknown field in a pod spec fails it.
        let broken = directory.file("broken.yaml")
        let sidecar = try String(contentsOfFile: files[3], encoding: .utf8)
        try sidecar.replacingOccurrences(
            of: "  restartPolicy: Never\n", with: "  restartPolicy: Never\n  restartPolicyy: Never\n"
        )
        .write(toFile: broken, atomically: true, encoding: .utf8)
        let rejected = try ProcessRunner.run(
            "kubernetes-validate", ["--strict", "--kubernetes-version", Self.supportedKubernetesVersions[0], broken])
        #expect(rejected.status != 0 && rejected.stdoutText.contains("restartPolicyy"), "\(rejected)")
    }

    @Test func checkovPassesEveryKubernetesCheckAndEachSuppressionSaysWhy() throws {
        try FixtureError.requirePrograms(["checkov": "checkov (PyPI; helpers/test installs it)"])
        let directory = try TemporaryDirectory(prefix: "ocicred-checkov")
        defer { directory.remove() }
        _ = try Self.renderAll(into: directory)
        // Offline: checkov would otherwise fetch check metadata; nothing here may leave the machine.
        let result = try ProcessRunner.run(
            "unshare",
            [
                "-n", ProcessRunner.resolve("checkov"), "--framework", "kubernetes", "--skip-download", "--compact",
                "--output", "json", "--directory", directory.path,
            ],
            environment: [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": directory.path,
                "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
            ],
            timeout: 300)
        let report = try #require(
            try? JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "checkov: \(result)")
        let summary = try #require(report["summary"] as? [String: Any])
        #expect(summary["failed"] as? Int == 0, "\(result.stdoutText.prefix(4000))")
        #expect((summary["passed"] as? Int ?? 0) > 100, "checkov ran almost no checks: \(summary)")
        #expect(result.status == 0, "\(result.stderrText.suffix(2000))")

        // Each suppression is an annotation `checkov.io/skipN: CKV_…=reason`, with a comment just above it naming
        // the same check and saying why in more words.
        let skipped = (report["results"] as? [String: Any])?["skipped_checks"] as? [[String: Any]] ?? []
        var suppressions = 0
        for overlay in Self.overlays {
            let directory = RenderedManifests.root + "/overlays/" + overlay
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".yaml") {
                let lines = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
                    .split(separator: "\n", omittingEmptySubsequences: false)
                for (index, line) in lines.enumerated() where line.contains("checkov.io/skip") {
                    suppressions += 1
                    let check = try #require(line.firstRange(of: /CKV2?_K8S_\d+/).map { String(line[$0]) })
                    let value = line.split(separator: "=", maxSplits: 1).last ?? ""
                    #expect(value.count > 20, "\(file): \(line) gives no reason")
                    let comment = lines[..<index].reversed().prefix {
                        $0.trimmingCharacters(in: .whitespaces).hasPrefix("#")
                            || $0.contains("checkov.io/skip")
                    }
                    #expect(
                        comment.contains { $0.contains("#") && $0.contains(check) }, "\(file): \(check) has no comment")
                }
            }
        }
        #expect(
            suppressions > 0 && skipped.count >= suppressions, "\(suppressions) annotations, \(skipped.count) skips")
    }

    @Test func everyOcicredPodMeetsPodSecurityRestrictedAndOnlyTheInstallerNeedsMore() throws {
        let rendered = try Self.rendered()
        var privilegedNamespaces = Set<String>()
        for (overlay, objects) in rendered {
            for namespace in objects where RenderedManifests.kind(namespace) == "Namespace" {
                let labels = (namespace["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
                let level = labels["pod-security.kubernetes.io/enforce"]
                if overlay == "kubelet-installer" {
                    #expect(level == "privileged")
                    privilegedNamespaces.insert(RenderedManifests.name(namespace))
                } else {
                    #expect(
                        level == "restricted",
                        "\(overlay): \(RenderedManifests.name(namespace)) enforces \(level ?? "nothing")")
                }
            }
        }
        #expect(privilegedNamespaces == ["ocicred-node"])
        var ocicredPods = 0
        for (overlay, objects) in rendered {
            for object in objects {
                guard let pod = RenderedManifests.podSpec(object) else { continue }
                let podName = "\(overlay)/\(RenderedManifests.name(object))"
                let containers = RenderedManifests.containers(pod)
                guard containers.contains(where: Self.isOcicredImage) else { continue }
                ocicredPods += 1
                let podContext = pod["securityContext"] as? [String: Any] ?? [:]
                let installer = privilegedNamespaces.contains(RenderedManifests.namespace(object) ?? "")
                #expect(pod["hostNetwork"] == nil && pod["hostPID"] == nil && pod["hostIPC"] == nil, "\(podName)")
                let hostPaths = (pod["volumes"] as? [[String: Any]] ?? []).filter { $0["hostPath"] != nil }
                #expect(hostPaths.isEmpty || installer, "\(podName) mounts hostPath outside the installer's namespace")
                for container in containers {
                    let name = "\(podName)/\(container["name"] ?? "?")"
                    let context = container["securityContext"] as? [String: Any] ?? [:]
                    let seccomp = (context["seccompProfile"] ?? podContext["seccompProfile"]) as? [String: Any]
                    #expect(seccomp?["type"] as? String == "RuntimeDefault", "\(name): seccompProfile")
                    #expect(context["allowPrivilegeEscalation"] as? Bool == false, "\(name): allowPrivilegeEscalation")
                    #expect(context["privileged"] as? Bool != true, "\(name): privileged")
                    let capabilities = context["capabilities"] as? [String: Any]
                    #expect(capabilities?["drop"] as? [String] == ["ALL"], "\(name): capabilities.drop")
                    #expect(capabilities?["add"] == nil, "\(name): capabilities.add")
                    #expect(context["readOnlyRootFilesystem"] as? Bool == true, "\(name): readOnlyRootFilesystem")
                    #expect(container["resources"] != nil, "\(name): resources")
                    if !installer || !Self.isOcicredImage(container) {
                        let nonRoot = (context["runAsNonRoot"] ?? podContext["runAsNonRoot"]) as? Bool
                        #expect(nonRoot == true, "\(name): runAsNonRoot")
                        #expect(context["runAsUser"] as? Int != 0, "\(name): runAsUser 0")
                    }
                    // The image has no shell: nothing of ocicred's may need one.
                    if Self.isOcicredImage(container) {
                        let command = (container["command"] as? [String] ?? []).first ?? ""
                        #expect(!command.hasSuffix("sh"), "\(name) runs \(command)")
                        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                            let exec = Self.execCommand(container[probe])?.first ?? "/usr/local/bin/ocicred"
                            #expect(exec == "/usr/local/bin/ocicred", "\(name): \(probe) runs \(exec)")
                        }
                    }
                }
            }
        }
        #expect(
            ocicredPods == 6,
            "the sidecar pod, the Deployment, the CronJob, its first Job, the installer and the webhook")
    }

    @Test func longRunningRefreshProbesHealthzAndReadyzAndTheSidecarStartsOnOcicredHealth() throws {
        let rendered = try Self.rendered()
        let deployment = try #require(
            rendered["refresh-deployment"]?.first { RenderedManifests.kind($0) == "Deployment" })
        let pod = try #require(rendered["sidecar-example"]?.first { RenderedManifests.kind($0) == "Pod" })
        let sidecar = try #require((RenderedManifests.podSpec(pod)?["initContainers"] as? [[String: Any]])?.first)
        let refresh = try #require((RenderedManifests.podSpec(deployment)?["containers"] as? [[String: Any]])?.first)
        for container in [sidecar, refresh] {
            let args = container["args"] as? [String] ?? []
            let listen = try #require(args.firstIndex(of: "--listen").map { args[$0 + 1] }, "\(args)")
            let port = try #require(
                (container["ports"] as? [[String: Any]])?.first { $0["name"] as? String == "metrics" })
            #expect(listen == ":\(port["containerPort"] ?? "")")
            #expect(Self.httpPath(container["readinessProbe"]).map { "\($0.path) \($0.port)" } == "/readyz metrics")
            #expect(Self.httpPath(container["livenessProbe"]).map { "\($0.path) \($0.port)" } == "/healthz metrics")
        }
        // The build starts once the auth file the sidecar's config writes is there and unexpired.
        let config = try #require(
            RenderedManifests.configMapFile(rendered["sidecar-example"]!, prefix: "ocicred-sidecar-config"))
        let path = try #require(config.firstRange(of: /path: (\S+)/).map { String(config[$0].dropFirst(6)) })
        #expect(Self.execCommand(sidecar["startupProbe"]) == ["/usr/local/bin/ocicred", "health", "--file", path])
    }

    @Test func theHADeploymentHasAMetricsServiceAndAPodDisruptionBudget() throws {
        let objects = try RenderedManifests.objects("refresh-deployment")
        let deployment = try #require(objects.first { RenderedManifests.kind($0) == "Deployment" })
        let spec = try #require(deployment["spec"] as? [String: Any])
        #expect(spec["replicas"] as? Int == 2)
        let podLabels = try #require(
            ((spec["template"] as? [String: Any])?["metadata"] as? [String: Any])?["labels"] as? [String: String])
        func selects(_ selector: [String: String]?) -> Bool {
            guard let selector, !selector.isEmpty else { return false }
            return selector.allSatisfy { podLabels[$0.key] == $0.value }
        }
        let service = try #require(objects.first { RenderedManifests.kind($0) == "Service" })
        let serviceSpec = try #require(service["spec"] as? [String: Any])
        #expect(selects(serviceSpec["selector"] as? [String: String]))
        #expect((serviceSpec["ports"] as? [[String: Any]])?.first?["targetPort"] as? String == "metrics")
        let budget = try #require(objects.first { RenderedManifests.kind($0) == "PodDisruptionBudget" })
        let budgetSpec = try #require(budget["spec"] as? [String: Any])
        #expect(selects((budgetSpec["selector"] as? [String: Any])?["matchLabels"] as? [String: String]))
        #expect(budgetSpec["minAvailable"] as? Int == 1)
    }

    /// Checked on every pod of every overlay (none sets a priority today, so each passes by having none): a
    /// `system-*` priority outside kube-system would preempt other workloads for a credential refresher.
    @Test func noPodOutsideKubeSystemUsesASystemPriority() throws {
        var pods = 0
        for (overlay, objects) in try Self.rendered() {
            for object in objects {
                guard let pod = RenderedManifests.podSpec(object) else { continue }
                pods += 1
                let priority = pod["priorityClassName"] as? String ?? ""
                #expect(
                    !priority.hasPrefix("system-") || RenderedManifests.namespace(object) == "kube-system",
                    "\(overlay): \(RenderedManifests.name(object)) has \(priority)")
            }
        }
        try #require(pods > 0, "the overlays render no pod at all")
    }

    /// `images:` in each overlay is where a digest pins the image: with `digest:` instead of `newTag:` (what
    /// `kustomize edit set image ocicred=REGISTRY/ocicred@sha256:…` writes), every ocicred container names it.
    @Test func aDigestInTheOverlaysImagesPinsEveryOcicredContainer() throws {
        let copy = try TemporaryDirectory(prefix: "ocicred-pin")
        defer { copy.remove() }
        let cp = try ProcessRunner.run("cp", ["-r", RenderedManifests.root, copy.path + "/manifests"])
        try #require(cp.status == 0, "\(cp)")
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        for overlay in Self.overlays {
            let file = copy.path + "/manifests/overlays/\(overlay)/kustomization.yaml"
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(text.contains("newTag: \"0.1.0\""), "\(overlay)")
            try text.replacingOccurrences(of: "newTag: \"0.1.0\"", with: "digest: \(digest)")
                .write(toFile: file, atomically: true, encoding: .utf8)
            for pinned in [false, true] {
                let objects = try RenderedManifests.objects(
                    pinned ? copy.path + "/manifests/overlays/\(overlay)" : overlay)
                let images = objects.compactMap(RenderedManifests.podSpec).flatMap(RenderedManifests.containers)
                    .filter(Self.isOcicredImage).map { $0["image"] as? String ?? "" }
                #expect(!images.isEmpty, "\(overlay)")
                for image in images {
                    #expect(image.hasSuffix(pinned ? "@\(digest)" : ":0.1.0"), "\(overlay): \(image)")
                }
                // No container is left with the bare placeholder name the overlay's images: replaces.
                let bare = objects.compactMap(RenderedManifests.podSpec).flatMap(RenderedManifests.containers)
                    .filter { ["ocicred", "ocicred-kubelet-installer"].contains($0["image"] as? String ?? "") }
                #expect(bare.isEmpty, "\(overlay)")
            }
        }
    }

    @Test func theDemoBuildPodIsOnlyInTheSidecarExampleAndSharesTheAuthFileWithItsSidecar() throws {
        for (overlay, objects) in try Self.rendered() where overlay != "sidecar-example" {
            let images = objects.compactMap(RenderedManifests.podSpec).flatMap(RenderedManifests.containers)
                .compactMap { $0["image"] as? String }
            #expect(!images.contains { $0.contains("build-tools") }, "\(overlay)")
            #expect(!objects.contains { RenderedManifests.kind($0) == "Pod" }, "\(overlay)")
        }
        let objects = try RenderedManifests.objects("sidecar-example")
        let spec = try #require(
            objects.first { RenderedManifests.kind($0) == "Pod" }.flatMap(RenderedManifests.podSpec))
        let sidecars = (spec["initContainers"] as? [[String: Any]] ?? []).filter {
            $0["restartPolicy"] as? String == "Always"
        }
        let sidecar = try #require(sidecars.first, "no init container with restartPolicy: Always")
        #expect((sidecar["args"] as? [String])?.first == "refresh")
        #expect(!((sidecar["args"] as? [String]) ?? []).contains("--once"))
        let build = try #require((spec["containers"] as? [[String: Any]])?.first)
        #expect((build["image"] as? String)?.contains("build-tools") == true)
        #expect(build["securityContext"] != nil && build["resources"] != nil)

        let config = try #require(RenderedManifests.configMapFile(objects, prefix: "ocicred-sidecar-config"))
        let path = try #require(config.firstRange(of: /path: (\S+)/).map { String(config[$0].dropFirst(6)) })
        let buildAuthFile =
            (build["env"] as? [[String: Any]])?.first { $0["name"] as? String == "REGISTRY_AUTH_FILE" }?[
                "value"] as? String
        #expect(buildAuthFile == path)
        func mount(_ container: [String: Any], covering path: String) -> String? {
            (container["volumeMounts"] as? [[String: Any]])?.first {
                path.hasPrefix(($0["mountPath"] as? String ?? "") + "/")
            }?["name"] as? String
        }
        let volume = try #require(mount(sidecar, covering: path))
        #expect(mount(build, covering: path) == volume)
        let volumes = spec["volumes"] as? [[String: Any]] ?? []
        #expect(volumes.first { $0["name"] as? String == volume }?["emptyDir"] != nil)
        #expect(spec["automountServiceAccountToken"] as? Bool == false)
    }

    @Test func theCronJobRunsOnceAndTheDeploymentElectsALeader() throws {
        let cronJob = try #require(
            try RenderedManifests.objects("refresh-cronjob").first { RenderedManifests.kind($0) == "CronJob" })
        let jobPod = try #require(RenderedManifests.podSpec(cronJob))
        let once = try #require((jobPod["containers"] as? [[String: Any]])?.first?["args"] as? [String])
        #expect(once.first == "refresh" && once.contains("--once"))
        #expect(jobPod["serviceAccountName"] as? String == "ocicred-refresh-once")

        let deployment = try #require(
            try RenderedManifests.objects("refresh-deployment").first { RenderedManifests.kind($0) == "Deployment" })
        let pod = try #require(RenderedManifests.podSpec(deployment))
        let args = try #require((pod["containers"] as? [[String: Any]])?.first?["args"] as? [String])
        #expect(args.first == "refresh" && !args.contains("--once"))
        #expect(args.firstIndex(of: "--leader-election-lease").map { args[$0 + 1] } == "ocicred-refresh")
        #expect(pod["serviceAccountName"] as? String == "ocicred-refresh")
    }

    @Test func bindingsPointAtRolesAndServiceAccountsThatExist() throws {
        for (overlay, objects) in try Self.rendered() {
            func exists(_ kind: String, _ name: String, _ namespace: String?) -> Bool {
                objects.contains {
                    RenderedManifests.kind($0) == kind && RenderedManifests.name($0) == name
                        && (namespace == nil || RenderedManifests.namespace($0) == namespace)
                }
            }
            for binding in objects where RenderedManifests.kind(binding).hasSuffix("Binding") {
                let roleRef = try #require(binding["roleRef"] as? [String: String])
                let roleNamespace = roleRef["kind"] == "Role" ? RenderedManifests.namespace(binding) : nil
                #expect(exists(roleRef["kind"]!, roleRef["name"]!, roleNamespace), "\(overlay): \(roleRef)")
                for subject in binding["subjects"] as? [[String: String]] ?? [] {
                    #expect(subject["kind"] == "ServiceAccount")
                    #expect(exists("ServiceAccount", subject["name"]!, subject["namespace"]), "\(overlay): \(subject)")
                }
            }
            for object in objects {
                guard let pod = RenderedManifests.podSpec(object) else { continue }
                let account = pod["serviceAccountName"] as? String
                if let account {
                    #expect(exists("ServiceAccount", account, RenderedManifests.namespace(object)), "\(overlay)")
                }
                // Only the Secret writers and the webhook (it watches ServiceAccounts) talk to the API server;
                // every other pod goes without a token.
                let talksToTheAPI = ["refresh-deployment", "refresh-cronjob", "webhook"].contains(overlay)
                #expect((pod["automountServiceAccountToken"] as? Bool == false) != talksToTheAPI, "\(overlay)")
            }
        }
    }

    @Test func theKubeletProviderConfigCoversEveryCloudRegistryAndNothingElse() throws {
        let objects = try RenderedManifests.objects("kubelet-installer")
        let text = try #require(
            RenderedManifests.configMapFile(objects, prefix: "ocicred-kubelet", key: "credential-provider-config.yaml"))
        let config = try #require(try RenderedManifests.yamlDocuments(text).first)
        #expect(config["kind"] as? String == "CredentialProviderConfig")
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
        // The plugin reads the config the DaemonSet copies next to the provider config.
        let env = provider["env"] as? [[String: String]] ?? []
        #expect(env.contains { $0["name"] == "OCICRED_CONFIG" && $0["value"] == "/etc/kubernetes/ocicred/config.yaml" })
        #expect(RenderedManifests.configMapFile(objects, prefix: "ocicred-kubelet") != nil)
    }
}
