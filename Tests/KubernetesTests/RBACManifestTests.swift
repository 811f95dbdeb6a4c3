import Foundation
import TestSupport
import Testing

@testable import Kubernetes

/// The RBAC in manifests/refresh/rbac.yaml grants exactly `KubernetesAPICall.all` — which
/// ClusterAccessTests prove is exactly what the client sends — so least privilege cannot drift either way.
@Suite struct RBACManifestTests {
    static let rbacFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests/refresh/rbac.yaml").path

    /// (verb, group, resource) each service account is granted, through its bindings.
    static func grants() throws -> [String: Set<KubernetesAPICall>] {
        let script = """
            import json, sys, yaml
            docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
            roles = {(d["kind"], d["metadata"]["name"]): d.get("rules", []) for d in docs if d["kind"] in ("Role", "ClusterRole")}
            out = {}
            for b in docs:
                if not b["kind"].endswith("Binding"):
                    continue
                rules = roles[(b["roleRef"]["kind"], b["roleRef"]["name"])]
                for s in b["subjects"]:
                    out.setdefault(s["name"], [])
                    for r in rules:
                        for g in r["apiGroups"]:
                            for res in r["resources"]:
                                for v in r["verbs"]:
                                    out[s["name"]].append([v, g, res])
            print(json.dumps(out))
            """
        let result = try ProcessRunner.run("python3", ["-c", script, rbacFile], timeout: 30)
        guard result.status == 0 else { throw ManifestReadError(message: result.stderrText) }
        let decoded = try JSONSerialization.jsonObject(with: result.stdout) as? [String: [[String]]] ?? [:]
        return decoded.mapValues { Set($0.map { KubernetesAPICall($0[0], $0[2], group: $0[1]) }) }
    }

    @Test func theHADeploymentIsGrantedExactlyWhatTheClientCalls() throws {
        let grants = try Self.grants()
        #expect(grants["ocicred-refresh"] == KubernetesAPICall.all)
        #expect(grants.values.reduce(into: Set()) { $0.formUnion($1) } == KubernetesAPICall.all)
    }

    @Test func theCronJobGetsNoLeaderElectionRights() throws {
        let grants = try Self.grants()
        #expect(grants["ocicred-refresh-once"] == KubernetesAPICall.all.filter { $0.resource != "leases" })
    }

    struct ManifestReadError: Error { let message: String }
}
