import Testing
import Transport

@Suite("TransportConfiguration")
struct TransportConfigurationTests {
    @Test func caFileComesFromOCICRED_CA_FILE() {
        #expect(
            TransportConfiguration.fromEnvironment(["OCICRED_CA_FILE": "/etc/ocicred/ca.pem"]).caFile
                == "/etc/ocicred/ca.pem")
    }

    @Test func emptyOrMissingCAFileMeansSystemStoreOnly() {
        #expect(TransportConfiguration.fromEnvironment([:]).caFile == nil)
        #expect(TransportConfiguration.fromEnvironment(["OCICRED_CA_FILE": ""]).caFile == nil)
        #expect(TransportConfiguration.fromEnvironment([:]) == TransportConfiguration())
    }
}
