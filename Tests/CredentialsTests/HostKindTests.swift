import Testing

@testable import Credentials

struct HostKindCase: Sendable, CustomTestStringConvertible {
    let host: String
    let kind: HostKind

    init(_ host: String, _ kind: HostKind) {
        self.host = host
        self.kind = kind
    }

    var testDescription: String { host }
}

/// An ECR private registry of the account every ECR case below uses.
private func ecr(_ region: String, fips: Bool = false) -> HostKind {
    .ecrPrivate(accountID: "123456789012", region: region, fips: fips)
}

@Suite("HostKind")
struct HostKindTests {
    static let recognised: [HostKindCase] = [
        .init("123456789012.dkr.ecr.us-east-1.amazonaws.com", ecr("us-east-1")),
        .init("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", ecr("us-gov-west-1", fips: true)),
        .init("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ecr("cn-north-1")),
        .init("123456789012.dkr.ecr.us-isob-east-1.sc2s.sgov.gov", ecr("us-isob-east-1")),
        .init("123456789012.dkr.ecr.us-iso-east-1.c2s.ic.gov", ecr("us-iso-east-1")),
        .init("123456789012.dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", ecr("eu-isoe-west-1")),
        .init("123456789012.dkr.ecr.us-isof-south-1.csp.hci.ic.gov", ecr("us-isof-south-1")),
        .init("123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu", ecr("eusc-de-east-1")),
        .init("123456789012.dkr-ecr.eu-west-1.on.aws", ecr("eu-west-1")),
        .init("123456789012.dkr-ecr-fips.us-east-2.on.aws", ecr("us-east-2", fips: true)),
        .init("123456789012.dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn", ecr("cn-northwest-1")),
        .init("123456789012.DKR.ECR.US-WEST-2.AMAZONAWS.COM:443", ecr("us-west-2")),
        .init("public.ecr.aws", .ecrPublic),
        .init("ecr-public.aws.com", .ecrPublic),
        .init("gcr.io", .gcr),
        .init("us.gcr.io", .gcr),
        .init("eu.gcr.io", .gcr),
        .init("asia.gcr.io", .gcr),
        .init("marketplace.gcr.io", .gcr),
        .init("us-central1-docker.pkg.dev", .artifactRegistry(location: "us-central1")),
        .init("europe-docker.pkg.dev", .artifactRegistry(location: "europe")),
        .init("docker.me-central2.rep.pkg.dev", .artifactRegistry(location: "me-central2")),
        .init("myregistry.azurecr.io", .acr),
        .init("MyRegistry.AzureCR.io:443", .acr),
        .init("myregistry.azurecr.cn", .acr),
        .init("myregistry.azurecr.us", .acr),
        .init("ghcr.io", .ghcr),
        .init("docker.io", .dockerHub),
        .init("index.docker.io", .dockerHub),
        .init("registry-1.docker.io", .dockerHub),
        .init("nvcr.io", .ngc),
        .init("quay.io", .generic),
        .init("localhost:5000", .generic),
        .init("[::1]:5000", .generic),
    ]

    @Test("known registry hosts are classified by service", arguments: recognised)
    func classifiesKnownHost(_ testCase: HostKindCase) {
        #expect(HostKind.classify(host: testCase.host) == testCase.kind)
    }

    static let lookAlikes: [String] = [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
        "evil.example.123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "12345678901.dkr.ecr.us-east-1.amazonaws.com",
        "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
        "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
        "123456789012.dkr.ecr.amazonaws.com",
        "123456789012.dkr.ecr.us-east-1.evilamazonaws.com",
        "123456789012.dkr.ecr.us.east.1.amazonaws.com",
        "123456789012.dkr.ecr-fake.us-east-1.amazonaws.com",
        "gcr.io.evil.example",
        "fakegcr.io",
        "a.b.gcr.io",
        ".gcr.io",
        "azurecr.io",
        ".azurecr.io",
        "myregistry.azurecr.io.evil.example",
        "myregistry.azurecr.com",
        "-docker.pkg.dev",
        "us-docker.pkg.dev.evil.example",
        "docker.pkg.dev",
        "public.ecr.aws.evil.example",
        "notpublic.ecr.aws",
        "ghcr.io.evil.example",
        "evildocker.io",
        "nvcr.io.evil.example",
        "",
        "gcr.io:https",
    ]

    @Test("hosts that only contain a provider's name are generic", arguments: lookAlikes)
    func lookAlikeIsGeneric(_ host: String) {
        #expect(HostKind.classify(host: host) == .generic)
    }

    @Test("provider names and minting follow the host kind")
    func providerNamesAndMinting() {
        let table: [(HostKind, String, Bool)] = [
            (.ecrPrivate(accountID: "123456789012", region: "us-east-1", fips: false), "aws", true),
            (.ecrPublic, "aws-public", true),
            (.gcr, "gcp", true),
            (.artifactRegistry(location: "us"), "gcp", true),
            (.acr, "azure", true),
            (.ghcr, "github", false),
            (.dockerHub, "dockerhub", false),
            (.ngc, "ngc", false),
            (.generic, "generic", false),
        ]
        for (kind, provider, minted) in table {
            #expect(kind.providerName == provider)
            #expect(kind.isMinted == minted)
        }
    }
}
