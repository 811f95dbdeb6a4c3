import Foundation
import TestSupport
import Testing

@testable import Kubernetes

/// The RBAC of manifests/overlays, as `kubectl kustomize` renders it, grants each Secret-writing workload exactly
/// the `KubernetesAPICall`s its config makes the client send — ClusterAccessTests prove `KubernetesAPICall.all` is
/// exactly what the client sends — so least privilege cannot drift either way. And it grants them only where
/// and on what the config names: Roles in the config's namespaces, `resourceNames` wherever RBAC allows them.
@Suite struct RBACManifestTests {
    /// One rule, flattened: what a service account may do, where (nil: cluster-wide) and on which names.
    struct Grant: Hashable {
        let call: KubernetesAPICall
        let namespace: String?
        let resourceNames: Set<String>?
    }

    struct Overlay {
        let objects: [[String: Any]]
        /// The ocicred config the overlay's ConfigMap holds, as JSON values.
        let config: [String: Any]

        init(_ name: String, configMap: String) throws {
            objects = try RenderedManifests.objects(name)
            let text = try #require(RenderedManifests.configMapFile(objects, prefix: configMap))
            config = try #require(try RenderedManifests.yamlDocuments(text).first)
        }

        /// The config's one Secret output.
        var secretOutput: [String: Any]? {
            let outputs = (config["refresh"] as? [String: Any])?["outputs"] as? [[String: Any]]
            return outputs?.compactMap { $0["secret"] as? [String: Any] }.first
        }

        func grants(to serviceAccount: String) -> Set<Grant> {
            var result = Set<Grant>()
            for binding in objects where RenderedManifests.kind(binding).hasSuffix("Binding") {
                let subjects = binding["subjects"] as? [[String: String]] ?? []
                guard subjects.contains(where: { $0["name"] == serviceAccount }),
                    let roleRef = binding["roleRef"] as? [String: String]
                else { continue }
                let clusterWide = RenderedManifests.kind(binding) == "ClusterRoleBinding"
                let role = objects.first {
                    RenderedManifests.kind($0) == roleRef["kind"] && RenderedManifests.name($0) == roleRef["name"]
                        && (roleRef["kind"] == "ClusterRole"
                            || RenderedManifests.namespace($0) == RenderedManifests.namespace(binding))
                }
                for rule in role?["rules"] as? [[String: Any]] ?? [] {
                    let names = (rule["resourceNames"] as? [String]).map(Set.init)
                    for group in rule["apiGroups"] as? [String] ?? [] {
                        for resource in rule["resources"] as? [String] ?? [] {
                            for verb in rule["verbs"] as? [String] ?? [] {
                                result.insert(
                                    Grant(
                                        call: KubernetesAPICall(verb, resource, group: group),
                                        namespace: clusterWide ? nil : RenderedManifests.namespace(binding),
                                        resourceNames: names))
                            }
                        }
                    }
                }
            }
            return result
        }
    }

    static func deployment() throws -> Overlay {
        try Overlay("refresh-deployment", configMap: "ocicred-refresh-config")
    }
    static func cronJob() throws -> Overlay { try Overlay("refresh-cronjob", configMap: "ocicred-refresh-once-config") }

    /// `create` cannot be narrowed by name (the object has none until it exists), nor can following every
    /// namespace; every other verb must be — a list or watch of Secrets and ServiceAccounts too, which the
    /// controller narrows with the `metadata.name` field selector RBAC's resourceNames require.
    static func checkNarrowedByName(_ grants: Set<Grant>, secret: String, serviceAccounts: [String], lease: String?) {
        for grant in grants {
            switch (grant.call.verb, grant.call.resource) {
            case ("create", _), ("list", "namespaces"), ("watch", "namespaces"):
                #expect(grant.resourceNames == nil, "\(grant)")
            case (_, "secrets"):
                #expect(grant.resourceNames == [secret], "\(grant)")
            case (_, "serviceaccounts"):
                #expect(grant.resourceNames == Set(serviceAccounts), "\(grant)")
            case (_, "leases"):
                #expect(grant.resourceNames == lease.map { [$0] }, "\(grant)")
            default:
                Issue.record("unexpected grant \(grant)")
            }
        }
    }

    @Test func theHADeploymentIsGrantedExactlyWhatTheClientCallsNarrowedByName() throws {
        let overlay = try Self.deployment()
        let grants = overlay.grants(to: "ocicred-refresh")
        #expect(Set(grants.map(\.call)) == KubernetesAPICall.refreshController)
        let output = try #require(overlay.secretOutput)
        // The selector picks namespaces at run time: the Secret grants are cluster-wide, the Lease grants are not.
        #expect(output["namespaceSelector"] != nil)
        for grant in grants {
            #expect((grant.namespace == nil) == (grant.call.resource != "leases"), "\(grant)")
            if grant.call.resource == "leases" { #expect(grant.namespace == "ocicred") }
        }
        let deployment = try #require(overlay.objects.first { RenderedManifests.kind($0) == "Deployment" })
        let args =
            (RenderedManifests.podSpec(deployment)?["containers"] as? [[String: Any]])?.first?["args"] as? [String]
        let lease = args?.firstIndex(of: "--leader-election-lease").map { args![$0 + 1] }
        Self.checkNarrowedByName(
            grants, secret: try #require(output["name"] as? String),
            serviceAccounts: output["serviceAccounts"] as? [String] ?? [], lease: lease)
    }

    @Test func theCronJobIsGrantedOnlyInItsConfigsNamespacesWithoutLeasesOrNamespaceListing() throws {
        let overlay = try Self.cronJob()
        let grants = overlay.grants(to: "ocicred-refresh-once")
        #expect(Set(grants.map(\.call)) == KubernetesAPICall.onePass.filter { $0.resource != "namespaces" })
        let output = try #require(overlay.secretOutput)
        let namespaces = try #require(output["namespaces"] as? [String])
        #expect(Set(grants.map(\.namespace)) == Set(namespaces.map(Optional.some)))
        Self.checkNarrowedByName(
            grants, secret: try #require(output["name"] as? String),
            serviceAccounts: output["serviceAccounts"] as? [String] ?? [], lease: nil)
    }

    /// A ClusterRole only where a namespaceSelector makes one necessary (the HA refresh, and the webhook, which
    /// admits Pods wherever the selector reaches), with the reason written beside it.
    @Test func onlyTheOverlaysWithANamespaceSelectorHaveAClusterRoleAndSayWhy() throws {
        let clusterWide = ["refresh-deployment", "webhook"]
        for overlay in RenderedManifests.overlays {
            let objects = try RenderedManifests.objects(overlay)
            let clusterRoles = objects.filter { RenderedManifests.kind($0) == "ClusterRole" }
            #expect(clusterRoles.isEmpty == !clusterWide.contains(overlay), "\(overlay)")
        }
        #expect(try Self.deployment().secretOutput?["namespaceSelector"] != nil)
        #expect(try Self.webhook().secretOutput?["namespaceSelector"] != nil)
        #expect(try Self.cronJob().secretOutput?["namespaceSelector"] == nil)
        for (overlay, reason) in [
            ("refresh-deployment", "# Why a ClusterRole: the namespaces come from a selector"),
            ("webhook", "# Why a ClusterRole: Pods are admitted in every namespace the selector picks"),
        ] {
            let rbac = try String(
                contentsOfFile: RenderedManifests.root + "/overlays/\(overlay)/rbac.yaml", encoding: .utf8)
            #expect(rbac.contains(reason), "\(overlay)")
        }
    }

    static func webhook() throws -> Overlay { try Overlay("webhook", configMap: "ocicred-webhook-config") }

    /// The webhook may watch namespaces and ServiceAccounts everywhere (a Pod may name any ServiceAccount), but
    /// touch only its own certificate Secret, in its own namespace, and the caBundle of its own configuration.
    @Test func theWebhookIsGrantedExactlyWhatItCallsNarrowedByName() throws {
        let overlay = try Self.webhook()
        let grants = overlay.grants(to: "ocicred-webhook")
        #expect(Set(grants.map(\.call)) == KubernetesAPICall.webhook)
        let deployment = try #require(overlay.objects.first { RenderedManifests.kind($0) == "Deployment" })
        let args =
            (RenderedManifests.podSpec(deployment)?["containers"] as? [[String: Any]])?.first?["args"] as? [String]
            ?? []
        let option = { (name: String) in args.firstIndex(of: name).map { args[$0 + 1] } }
        let secret = try #require(option("--tls-secret"))
        let configuration = try #require(option("--webhook-configuration"))
        #expect(
            overlay.objects.contains {
                RenderedManifests.kind($0) == "MutatingWebhookConfiguration"
                    && RenderedManifests.name($0) == configuration
            })
        for grant in grants {
            switch (grant.call.verb, grant.call.resource) {
            case (_, "namespaces"), (_, "serviceaccounts"):
                #expect(grant.namespace == nil && grant.resourceNames == nil, "\(grant)")
                #expect(["list", "watch"].contains(grant.call.verb), "\(grant)")
            case ("create", "secrets"):
                #expect(grant.namespace == "ocicred-webhook" && grant.resourceNames == nil, "\(grant)")
            case (_, "secrets"):
                #expect(grant.namespace == "ocicred-webhook" && grant.resourceNames == [secret], "\(grant)")
            case (_, "mutatingwebhookconfigurations"):
                #expect(grant.namespace == nil && grant.resourceNames == [configuration], "\(grant)")
            default:
                Issue.record("unexpected grant \(grant)")
            }
        }
    }
}
