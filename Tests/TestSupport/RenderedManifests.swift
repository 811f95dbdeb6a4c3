import Foundation

/// manifests/ as a user applies it: each overlay rendered by the real `kubectl kustomize`, in a network namespace
/// of its own (`unshare -n`), so a render that needed the network would fail here rather than reach out.
package enum RenderedManifests {
    /// The repository's manifests/ directory.
    package static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests").path

    /// The overlays under manifests/overlays, one per use.
    package static var overlays: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/overlays")) ?? []).sorted()
    }

    /// Debian 12's own kubectl (kubernetes-client 1.20, kustomize v2.0.3), unpacked by helpers/test when another
    /// package owns /usr/bin/kubectl: what a user on a fresh Debian 12 machine renders with.
    package static var debianKubectl: String? {
        ProcessInfo.processInfo.environment["OCICRED_DEBIAN_KUBECTL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `kubectl kustomize DIR` offline; DIR is an overlay name or any path holding a kustomization. `kubectl`
    /// picks another binary (Debian's, say).
    package static func render(_ overlayOrPath: String, kubectl: String? = nil) throws -> String {
        try FixtureError.requirePrograms(["kubectl": "kubernetes-client", "unshare": "util-linux"])
        let path = overlayOrPath.hasPrefix("/") ? overlayOrPath : root + "/overlays/" + overlayOrPath
        let result = try ProcessRunner.run(
            "unshare", ["-n", kubectl ?? ProcessRunner.resolve("kubectl"), "kustomize", path])
        guard result.status == 0 else {
            throw FixtureError.commandFailed(command: "kubectl kustomize \(path)", result: result)
        }
        return result.stdoutText
    }

    /// The rendered objects as JSON values (PyYAML reads the YAML; python3 is how the fixtures run anyway).
    package static func objects(_ overlayOrPath: String) throws -> [[String: Any]] {
        try yamlDocuments(render(overlayOrPath))
    }

    /// Every document of a YAML stream, as JSON values.
    package static func yamlDocuments(_ yaml: String) throws -> [[String: Any]] {
        let script =
            "import json, sys, yaml\n"
            + "print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d is not None]))"
        let result = try ProcessRunner.run("python3", ["-c", script], stdin: Data(yaml.utf8), timeout: 30)
        guard result.status == 0 else { throw FixtureError.commandFailed(command: "python3 yaml", result: result) }
        return try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]] ?? []
    }
}

extension RenderedManifests {
    package static func kind(_ object: [String: Any]) -> String { object["kind"] as? String ?? "" }
    package static func name(_ object: [String: Any]) -> String {
        (object["metadata"] as? [String: Any])?["name"] as? String ?? ""
    }
    package static func namespace(_ object: [String: Any]) -> String? {
        (object["metadata"] as? [String: Any])?["namespace"] as? String
    }

    /// The pod spec of a Pod, of a workload's template, or of a CronJob's job template; nil for other kinds.
    package static func podSpec(_ object: [String: Any]) -> [String: Any]? {
        let spec = object["spec"] as? [String: Any]
        switch kind(object) {
        case "Pod": return spec
        case "Deployment", "DaemonSet", "StatefulSet", "Job", "ReplicaSet":
            return (spec?["template"] as? [String: Any])?["spec"] as? [String: Any]
        case "CronJob":
            let job = (spec?["jobTemplate"] as? [String: Any])?["spec"] as? [String: Any]
            return (job?["template"] as? [String: Any])?["spec"] as? [String: Any]
        default: return nil
        }
    }

    /// Every container of a pod spec, init containers (and native sidecars) first.
    package static func containers(_ podSpec: [String: Any]) -> [[String: Any]] {
        (podSpec["initContainers"] as? [[String: Any]] ?? []) + (podSpec["containers"] as? [[String: Any]] ?? [])
    }

    /// The `config.yaml` a ConfigMap of the rendered objects holds, by the ConfigMap's name prefix (kustomize
    /// appends a hash).
    package static func configMapFile(_ objects: [[String: Any]], prefix: String, key: String = "config.yaml")
        -> String?
    {
        objects.first { kind($0) == "ConfigMap" && name($0).hasPrefix(prefix) }.flatMap {
            ($0["data"] as? [String: String])?[key]
        }
    }
}
