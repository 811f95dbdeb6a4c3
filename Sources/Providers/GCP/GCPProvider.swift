package import Credentials
internal import FoundationEssentials
internal import SystemSupport
package import Transport

/// Mints GCR and Artifact Registry credentials: an OAuth access token with the cloud-platform scope, used as the
/// password of the fixed user `oauth2accesstoken` (https://cloud.google.com/artifact-registry/docs/docker/authentication).
///
/// Sources, first that exists wins (google-auth's Application Default Credentials order, with ocicred's
/// explicit settings in front):
/// 1. stored material for the registry: `GCP_ACCESS_TOKEN` (+ `GCP_ACCESS_TOKEN_EXPIRY`), a key under
///    `GCP_SERVICE_ACCOUNT_KEY`, or an ADC document's fields;
/// 2. the config rule's `gcpKeyFile` (any ADC document type);
/// 3. `GCP_ACCESS_TOKEN` (+ `GCP_ACCESS_TOKEN_EXPIRY`) in the environment;
/// 4. `GOOGLE_APPLICATION_CREDENTIALS` (must exist when set, as in google-auth);
/// 5. gcloud's well-known file, `$CLOUDSDK_CONFIG/application_default_credentials.json` or
///    `~/.config/gcloud/application_default_credentials.json`;
/// 6. the metadata server (`GCE_METADATA_HOST`); only when it cannot be reached is the answer "no source".
///
/// With a pod's service-account token (kubelet `tokenAttributes`), none of these is used: the token is exchanged
/// through Workload Identity Federation instead (GCPProvider+ServiceAccountToken.swift).
///
/// The rule's `gcpImpersonate` then trades the token for that service account's through IAM Credentials
/// (`CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS` moves the endpoint, as it does for gcloud).
///
/// A ready token without an expiry is assumed to be good for five more minutes: we cannot know when it was
/// minted, and a short assumed life makes the token cache re-read it soon rather than serve it after it lapsed.
/// A token with less than a minute left is never handed out.
package struct GCPProvider: CredentialProvider {
    package static let username = "oauth2accesstoken"
    /// How long a ready `GCP_ACCESS_TOKEN` without `GCP_ACCESS_TOKEN_EXPIRY` is taken to live.
    static let assumedReadyTokenLifetime: TimeInterval = 300

    package let name = "gcp"
    let httpClient: any HTTPClient

    package init(httpClient: any HTTPClient) { self.httpClient = httpClient }

    package func cacheIdentity(for request: MintRequest) -> String {
        if let podToken = request.serviceAccountToken { return podCacheIdentity(request, podToken: podToken) }
        let base = (try? discover(request).source.cacheIdentity) ?? "unresolved"
        return request.identity.gcpImpersonate.map { base + ">" + $0 } ?? base
    }

    /// The metadata server's address, the STS and IAM Credentials endpoint overrides, and the ADC file chosen.
    package let mintingEnvironment = [
        "GCE_METADATA_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "CLOUDSDK_CONFIG", IAMCredentials.baseURLVariable,
        GCPProvider.stsBaseURLVariable,
    ]

    package func mint(_ request: MintRequest) async throws(ProviderError) -> MintedToken {
        let now = Date()
        let oauth = OAuth2(provider: name, client: httpClient)
        if let podToken = request.serviceAccountToken {
            // Kubelet service-account-token mode: the pod's token, not the node's credentials, is exchanged.
            let token = try await podFederation(request, podToken: podToken).fetchToken(oauth, now: now)
            try TokenLifetime.requireUsable(token.expiresAt, now: now, provider: name, endpoint: token.endpoint)
            return MintedToken(username: Self.username, secret: token.value, expiresAt: token.expiresAt)
        }
        let discovery = try discover(request)
        var token: OAuth2.AccessToken
        do {
            token = try await fetch(discovery.source, oauth, now: now)
        } catch {
            if case .metadataServer(let host) = discovery.source, case .unreachable(_, _, let reason) = error {
                throw .noSource(
                    provider: name, host: request.host,
                    tried: discovery.tried + ["metadata server \(host) (\(reason))"])
            }
            throw error
        }
        if case .accessToken(_, _, let origin) = discovery.source,
            token.expiresAt.timeIntervalSince(now) < TokenLifetime.minimumRemaining
        {
            throw .expiredIdentity(
                provider: name,
                detail: "\(origin) expires at \(token.expiresAt), less than \(Int(TokenLifetime.minimumRemaining)) s "
                    + "from now; supply a fresh token")
        }
        if let target = request.identity.gcpImpersonate {
            token = try await IAMCredentials.generateAccessToken(
                url: IAMCredentials.url(for: target, environment: request.environment), using: token.value,
                lifetimeSeconds: nil, oauth, now: now)
        }
        try TokenLifetime.requireUsable(token.expiresAt, now: now, provider: name, endpoint: token.endpoint)
        return MintedToken(username: Self.username, secret: token.value, expiresAt: token.expiresAt)
    }

    /// The chosen source and what was looked at before it (for `.noSource`). No network; files are read.
    func discover(_ request: MintRequest) throws(ProviderError) -> (source: GCPCredentialSource, tried: [String]) {
        let environment = request.environment
        var tried: [String] = []
        if let material = request.material {
            tried.append("stored material")
            if let source = try GCPCredentialSource.fromMaterial(material.credentials) {
                return (source, tried)
            }
        }
        if let keyFile = request.identity.gcpKeyFile {
            guard let document = try ProviderFile.readJSONObject(keyFile, provider: name, what: "the rule's key file")
            else {
                throw .misconfigured(
                    provider: name, detail: "the key file \(keyFile) named by the config rule does not exist")
            }
            return (try GCPCredentialSource.parse(document, origin: keyFile), tried)
        }
        tried.append("GCP_ACCESS_TOKEN")
        if let token = environment["GCP_ACCESS_TOKEN"] {
            let source = try GCPCredentialSource.accessToken(
                token, expiry: environment["GCP_ACCESS_TOKEN_EXPIRY"], origin: "GCP_ACCESS_TOKEN")
            return (source, tried)
        }
        tried.append("GOOGLE_APPLICATION_CREDENTIALS")
        if let path = environment["GOOGLE_APPLICATION_CREDENTIALS"] {
            guard
                let document = try ProviderFile.readJSONObject(
                    path, provider: name, what: "GOOGLE_APPLICATION_CREDENTIALS")
            else {
                throw .misconfigured(
                    provider: name, detail: "GOOGLE_APPLICATION_CREDENTIALS names \(path), which does not exist")
            }
            return (try GCPCredentialSource.parse(document, origin: path), tried)
        }
        if let path = Self.wellKnownFile(environment) {
            tried.append(path)
            if let document = try ProviderFile.readJSONObject(path, provider: name, what: "the gcloud ADC file") {
                return (try GCPCredentialSource.parse(document, origin: path), tried)
            }
        }
        return (.metadataServer(host: GCPMetadataServer(environment: environment).host), tried)
    }

    /// gcloud's `application-default login` output.
    static func wellKnownFile(_ environment: OcicredEnvironment) -> String? {
        if let config = environment["CLOUDSDK_CONFIG"] { return config + "/application_default_credentials.json" }
        guard let home = environment["HOME"] else { return nil }
        return home + "/.config/gcloud/application_default_credentials.json"
    }

    func fetch(_ source: GCPCredentialSource, _ oauth: OAuth2, now: Date) async throws(ProviderError)
        -> OAuth2.AccessToken
    {
        switch source {
        case .accessToken(let token, let expiresAt, let origin):
            return OAuth2.AccessToken(
                value: token, expiresAt: expiresAt ?? now.addingTimeInterval(Self.assumedReadyTokenLifetime),
                endpoint: origin)
        case .serviceAccount(let key):
            return try await key.fetchToken(oauth, now: now)
        case .authorizedUser(let user):
            return try await user.fetchToken(oauth, now: now)
        case .externalAccount(let account):
            return try await account.fetchToken(oauth, now: now)
        case .impersonated(let inner, let url, let lifetime):
            let caller = try await fetch(inner, oauth, now: now)
            return try await IAMCredentials.generateAccessToken(
                url: url, using: caller.value, lifetimeSeconds: lifetime, oauth, now: now)
        case .metadataServer(let host):
            return try await GCPMetadataServer(host: host).fetchToken(oauth, now: now)
        }
    }
}
