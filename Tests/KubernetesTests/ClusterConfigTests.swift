import Credentials
import Foundation
import SystemSupport
import TestSupport
import Testing

@testable import Kubernetes

/// Finding the API server: in a pod (service-account directory) or from a kubeconfig's current context.
@Suite struct ClusterConfigTests {
    @Test func inClusterConfigReadsTheServiceAccountDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try "tok".write(toFile: directory.file("token"), atomically: true, encoding: .utf8)
        try "pem".write(toFile: directory.file("ca.crt"), atomically: true, encoding: .utf8)
        try "team-a\n".write(toFile: directory.file("namespace"), atomically: true, encoding: .utf8)
        let config = try ClusterConfig.load(
            environment: OcicredEnvironment([
                "KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443",
                "OCICRED_KUBE_SERVICEACCOUNT_DIR": directory.path, "KUBECONFIG": "/nonexistent",
            ]))
        #expect(config.server == "https://[fd00::1]:443")
        #expect(config.caFile == directory.file("ca.crt"))
        #expect(config.token == .file(directory.file("token")))
        #expect(config.namespace == "team-a")
    }

    @Test func inClusterWithoutATokenSaysWhy() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: KubernetesError.self) {
            try ClusterConfig.inCluster(
                environment: OcicredEnvironment([
                    "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443",
                    "OCICRED_KUBE_SERVICEACCOUNT_DIR": directory.path,
                ]))
        }
    }

    @Test func kubeconfigCurrentContextGivesServerCAAndToken() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        let kubeconfig = """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
              - name: dev
                cluster: {server: "https://dev.example:6443", certificate-authority: dev-ca.crt}
              - name: prod
                cluster:
                  server: https://prod.example:6443/
                  certificate-authority-data: \(Data(pem.utf8).base64EncodedString())
            users:
              - name: robot
                user: {token: s3cr3t-token}
              - name: filer
                user: {tokenFile: tokens/robot}
            contexts:
              - name: dev
                context: {cluster: dev, user: filer}
              - name: prod
                context: {cluster: prod, user: robot, namespace: builds}
            """
        let path = directory.file("config")
        try kubeconfig.write(toFile: path, atomically: true, encoding: .utf8)
        let prod = try ClusterConfig.load(environment: OcicredEnvironment(["KUBECONFIG": "/missing:" + path]))
        #expect(prod.server == "https://prod.example:6443")
        #expect(prod.token == .inline(Secret("s3cr3t-token")))
        #expect(prod.namespace == "builds")
        // Inline CA data stays in memory: no file another user could swap between transfers.
        #expect(prod.caFile == nil)
        #expect(prod.caCertificates == Array(pem.utf8))

        let dev = try Kubeconfig.parse(
            kubeconfig.replacingOccurrences(of: "current-context: prod", with: "current-context: dev"), path: path)
        #expect(dev.caFile == directory.file("dev-ca.crt"))
        #expect(dev.token == .file(directory.file("tokens/robot")))
        #expect(dev.namespace == "default")
    }

    @Test func unsupportedAuthenticationIsReportedNotIgnored() throws {
        let kubeconfig = """
            current-context: c
            clusters: [{name: k, cluster: {server: "https://k:6443"}}]
            users: [{name: u, user: {exec: {command: aws, args: [eks, get-token]}}}]
            contexts: [{name: c, context: {cluster: k, user: u}}]
            """
        do {
            _ = try Kubeconfig.parse(kubeconfig, path: "kc")
            Issue.record("exec credentials were silently ignored")
        } catch {
            #expect(error.description.contains("`exec`"))
        }
    }
}
