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
        #expect(Set(grants.map(\.call)) == KubernetesAPICall.all)
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

    /// A ClusterRole only where a namespaceSelector makes one necessary, with the reason written beside it.
    @Test func onlyTheOverlayWithANamespaceSelectorHasAClusterRoleAndSaysWhy() throws {
        for overlay in RenderedManifests.overlays {
            let objects = try RenderedManifests.objects(overlay)
            let clusterRoles = objects.filter { RenderedManifests.kind($0) == "ClusterRole" }
            #expect(clusterRoles.isEmpty == (overlay != "refresh-deployment"), "\(overlay)")
        }
        #expect(try Self.deployment().secretOutput?["namespaceSelector"] != nil)
        #expect(try Self.cronJob().secretOutput?["namespaceSelector"] == nil)
        let rbac = try String(
            contentsOfFile: RenderedManifests.root + "/overlays/refresh-deployment/rbac.yaml", encoding: .utf8)
        #expect(rbac.contains("# Why a ClusterRole: the namespaces come from a selector"))
    }
}
