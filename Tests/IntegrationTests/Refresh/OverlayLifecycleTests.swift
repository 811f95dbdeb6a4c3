import Foundation
import TestSupport
import Testing

/// The overlays' life in a cluster, on what `kubectl kustomize` renders (what `kubectl apply -k` creates and
/// `kubectl delete -k` deletes): each overlay applies and deletes alone, the CronJob overlay writes its first
/// Secret at apply time, and the refresh ServiceAccounts carry each cloud's identity as a commented example that
/// renders once uncommented.
@Suite struct OverlayLifecycleTests {
    /// What the API server identifies an object by: group, kind, namespace (none for cluster-scoped), name.
    struct ObjectIdentity: Hashable, CustomStringConvertible {
        let group: String, kind: String, namespace: String, name: String
        init(_ object: [String: Any]) {
            let apiVersion = object["apiVersion"] as? String ?? ""
            group = apiVersion.contains("/") ? String(apiVersion.split(separator: "/")[0]) : ""
            kind = RenderedManifests.kind(object)
            namespace = RenderedManifests.namespace(object) ?? ""
            name = RenderedManifests.name(object)
        }
        var description: String { "\(kind) \(namespace.isEmpty ? "" : namespace + "/")\(name)" }
    }

    /// `kubectl delete -k A` deletes A's objects, and with a Namespace everything in it: nothing another overlay
    /// applied may be among them, nor live in a namespace A renders (it would go with the namespace).
    @Test func deletingOneOverlayDeletesNothingOfAnother() throws {
        let rendered = try ManifestTests.rendered()
        var owners = [ObjectIdentity: [String]]()
        var namespacesOf = [String: Set<String>]()
        for (overlay, objects) in rendered {
            for object in objects { owners[ObjectIdentity(object), default: []].append(overlay) }
            let namespaces = objects.filter { RenderedManifests.kind($0) == "Namespace" }.map(RenderedManifests.name)
            // Each overlay applies alone: it creates the one namespace its workload runs in.
            #expect(namespaces.count == 1, "\(overlay) renders the namespaces \(namespaces)")
            namespacesOf[overlay] = Set(namespaces)
        }
        let shared = owners.filter { $0.value.count > 1 }
        #expect(shared.isEmpty, "rendered by several overlays: \(shared.map { "\($0.key) in \($0.value)" })")
        for (overlay, objects) in rendered {
            for (other, namespaces) in namespacesOf where other != overlay {
                let inside = objects.filter { namespaces.contains(RenderedManifests.namespace($0) ?? "") }
                #expect(
                    inside.isEmpty,
                    "deleting \(other) deletes \(inside.map { ObjectIdentity($0).description }) of \(overlay)")
            }
        }
        // Every workload runs in its own overlay's namespace.
        for (overlay, objects) in rendered {
            for object in objects where RenderedManifests.podSpec(object) != nil {
                #expect(
                    namespacesOf[overlay]!.contains(RenderedManifests.namespace(object) ?? ""),
                    "\(overlay): \(ObjectIdentity(object))")
            }
        }
    }

    /// The Job in the CronJob overlay runs at apply time with exactly the CronJob's pod (so the first Secret is
    /// written then, not at the first tick hours later), and deletes itself once finished, so a later apply runs
    /// it again and `kubectl delete -k` finds nothing of it left behind to delete.
    @Test func theCronJobOverlayWritesItsFirstSecretAtApplyTime() throws {
        let objects = try RenderedManifests.objects("refresh-cronjob")
        let cronJob = try #require(objects.first { RenderedManifests.kind($0) == "CronJob" })
        let jobs = objects.filter { RenderedManifests.kind($0) == "Job" }
        try #require(jobs.count == 1, "refresh-cronjob renders \(jobs.count) Jobs")
        let job = jobs[0]
        let jobSpec = try #require(job["spec"] as? [String: Any])
        let cronJobSpec = try #require(
            ((cronJob["spec"] as? [String: Any])?["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(
            NSDictionary(dictionary: jobSpec["template"] as? [String: Any] ?? [:])
                == NSDictionary(dictionary: cronJobSpec["template"] as? [String: Any] ?? ["": 0]),
            "the Job's pod differs from the CronJob's")
        for key in ["backoffLimit", "activeDeadlineSeconds"] {
            #expect("\(jobSpec[key] ?? "none")" == "\(cronJobSpec[key] ?? "missing")", "\(key)")
        }
        let ttl = try #require(jobSpec["ttlSecondsAfterFinished"] as? Int, "the finished Job would stay forever")
        #expect(ttl > 0 && ttl <= 3600)
        let args = (RenderedManifests.podSpec(job)?["containers"] as? [[String: Any]])?.first?["args"] as? [String]
        #expect(args == ["refresh", "--once"])
        #expect(RenderedManifests.namespace(job) == RenderedManifests.namespace(cronJob))
    }

    /// The commented cloud identities of a refresh ServiceAccount, uncommented: the lines from `  # annotations:`
    /// that are indented under it.
    static func uncommentIdentity(_ text: String) -> String {
        var inside = false
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line == "  # annotations:" {
                inside = true
                return "  annotations:"
            }
            if inside, line.hasPrefix("  #   ") { return "    " + line.dropFirst(6) }
            inside = false
            return String(line)
        }.joined(separator: "\n")
    }

    @Test(arguments: [
        ("refresh-deployment", "ocicred-refresh"), ("refresh-cronjob", "ocicred-refresh-once"),
    ])
    func theRefreshServiceAccountShowsEachCloudsIdentity(overlay: String, serviceAccount: String) throws {
        let file = "overlays/\(overlay)/rbac.yaml"
        let text = try String(contentsOfFile: RenderedManifests.root + "/" + file, encoding: .utf8)
        // As shipped, no identity is set: the examples are comments.
        let shipped = try ManifestFiles.object(file, kind: "ServiceAccount", name: serviceAccount)
        #expect((shipped["metadata"] as? [String: Any])?["annotations"] == nil)
        // EKS Pod Identity has no annotation (an association names the ServiceAccount); AKS also needs a pod label.
        #expect(text.contains("EKS Pod Identity") && text.contains("create-pod-identity-association"))
        #expect(text.contains("--service-account \(serviceAccount)"))
        #expect(text.contains("azure.workload.identity/use"))

        let copy = try TemporaryDirectory(prefix: "ocicred-identity")
        defer { copy.remove() }
        let cp = try ProcessRunner.run("cp", ["-r", RenderedManifests.root, copy.path + "/manifests"])
        try #require(cp.status == 0, "\(cp)")
        let uncommented = Self.uncommentIdentity(text)
        #expect(uncommented != text)
        try uncommented.write(toFile: copy.path + "/manifests/" + file, atomically: true, encoding: .utf8)
        let objects = try RenderedManifests.objects(copy.path + "/manifests/overlays/" + overlay)
        let account = try #require(
            objects.first {
                RenderedManifests.kind($0) == "ServiceAccount" && RenderedManifests.name($0) == serviceAccount
            })
        let annotations = (account["metadata"] as? [String: Any])?["annotations"] as? [String: String] ?? [:]
        #expect(
            Set(annotations.keys)
                == [
                    "eks.amazonaws.com/role-arn", "iam.gke.io/gcp-service-account", "azure.workload.identity/client-id",
                ])
        #expect(annotations["eks.amazonaws.com/role-arn"]?.hasPrefix("arn:aws:iam::") == true)
        #expect(annotations["iam.gke.io/gcp-service-account"]?.hasSuffix(".iam.gserviceaccount.com") == true)
        #expect(annotations["azure.workload.identity/client-id"]?.count == 36)
    }
}
