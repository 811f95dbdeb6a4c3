internal import ArgumentParser
internal import Credentials
internal import Kubernetes
internal import SystemSupport

/// `ocicred kubelet`: the kubelet's image credential provider plugin (Kubernetes docs, "Configure a kubelet
/// image credential provider"). The kubelet runs it with a `CredentialProviderRequest` on stdin and reads the
/// `CredentialProviderResponse` from stdout; on failure it logs our stderr and pulls without credentials.
struct KubeletCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kubelet",
        abstract: "Answer a kubelet CredentialProviderRequest on stdin with a CredentialProviderResponse on stdout.",
        discussion: """
            Credentials for the image's registry are resolved exactly as `docker-credential-ocicred get` \
            resolves them. With a service-account token in the request (tokenAttributes in the kubelet's \
            CredentialProviderConfig), it is exchanged as the pod's identity, picked by the service account's \
            annotations, else the config rule, else the plugin's environment:

              AWS    eks.amazonaws.com/ecr-role-arn, AWS_ECR_ROLE_ARN (AssumeRoleWithWebIdentity)
              GCP    ocicred.io/gcp-workload-identity-provider, OCICRED_GCP_WORKLOAD_IDENTITY_PROVIDER or an \
            external_account GOOGLE_APPLICATION_CREDENTIALS (the STS audience); iam.gke.io/gcp-service-account, \
            OCICRED_GCP_SERVICE_ACCOUNT (impersonated, optional)
              Azure  azure.workload.identity/client-id and /tenant-id, AZURE_CLIENT_ID and AZURE_TENANT_ID \
            (the federated client assertion)

            Installed on nodes by the DaemonSet in manifests/overlays/kubelet-installer/.
            """)

    func run() async throws {
        let environment = OcicredEnvironment.current
        let logger = OcicredCommand.logger
        // Read one byte past the limit so an oversized request is refused, not truncated into valid JSON.
        guard let input = (try? StandardStream.input.readAll(limit: CredentialProviderRequest.maximumBytes)) ?? nil
        else {
            StandardStreams.err(
                "ocicred kubelet: the request is larger than \(CredentialProviderRequest.maximumBytes) bytes\n")
            throw ExitCode(1)
        }
        let config: KubeletConfig
        do {
            config = try KubeletConfig.load(environment: environment)
        } catch {
            StandardStreams.err("ocicred kubelet: \(error.description)\n")
            throw ExitCode(1)
        }
        let provider = KubeletCredentialProvider(
            resolver: Resolver.standard(environment: environment, logger: logger), config: config)
        do {
            let output = try await provider.respond(to: input)
            StandardStreams.out(String(decoding: output, as: UTF8.self))
        } catch {
            StandardStreams.err("ocicred kubelet: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}
