internal import Logging

/// Where the serving certificate comes from, asked again at every check: issued by ocicred into its Secret (with
/// the caBundle kept in step), or mounted from cert-manager's Secret.
enum CertificateSource: Sendable {
    case issued(WebhookCertificateKeeper)
    case mounted(MountedCertificate)

    func current() async throws -> ServingCertificate {
        switch self {
        case .issued(let keeper):
            let material = try await keeper.current()
            _ = try await keeper.publish(material)
            return material
        case .mounted(let mounted):
            return try mounted.read()
        }
    }

    /// Serves the source's certificate when it changed (rotated by this replica, another one, or cert-manager);
    /// a failed check keeps the one being served.
    func rotate(_ served: ServingCertificate, server: WebhookServer, logger: Logger) async -> ServingCertificate {
        do {
            let latest = try await current()
            guard latest != served else { return served }
            server.serve(try TLSServerContext(latest))
            logger.notice("serving a new certificate")
            return latest
        } catch {
            logger.warning("cannot check the serving certificate; retrying later", metadata: ["error": "\(error)"])
            return served
        }
    }
}
