import Foundation
import Testing

@testable import Crypto

/// Which OpenSSL configurations move ocicred off its provider fast path: the byte scanner reads openssl.cnf as
/// openssl.cnf(5) writes keys — blanks before the key, `=` or blanks after it, `#` starting a comment.
@Suite struct CryptoRouteTests {
    @Test func debiansShippedConfigKeepsTheFastPath() throws {
        let path = "/usr/lib/ssl/openssl.cnf"
        let text = try #require(
            try? String(contentsOfFile: path, encoding: .utf8), "Debian's openssl package ships \(path)")
        #expect(
            CryptoRoute.decide(environmentConfig: nil, systemConfig: path, read: { $0 == path ? text : nil })
                == .provider)
    }

    @Test(arguments: [
        ("providers = provider_sect\n", "providers"),
        ("  default_properties=fips=yes\n", "default_properties"),
        ("[x]\r\n\tactivate = 1\r\n", "activate"),
        ("# providers = provider_sect\nopenssl_conf = openssl_init\n.include /etc/ssl/fips.cnf\n", ".include"),
        ("alg_section=evp # comment\n", "alg_section"),
    ])
    func selectingDirectivesAreFound(_ text: String, _ key: String) {
        #expect(CryptoRoute.firstSelectingDirective(in: text) == key)
        #expect(
            CryptoRoute.decide(environmentConfig: nil, systemConfig: "/c", read: { $0 == "/c" ? text : nil })
                == .configured(reason: "/c sets \(key)"))
    }

    @Test(arguments: [
        "", "# activate = 1\n", "openssl_conf = openssl_init\n[openssl_init]\n", "providersx = y\n", "x = providers\n",
        "#providers=provider_sect", "   \n\t\n",
    ])
    func otherLinesAreNot(_ text: String) {
        #expect(CryptoRoute.firstSelectingDirective(in: text) == nil)
    }

    @Test func opensslConfAndFipsModeAlwaysConfigure() {
        #expect(
            CryptoRoute.decide(environmentConfig: "/etc/my.cnf", systemConfig: nil, read: { _ in nil })
                == .configured(reason: "OPENSSL_CONF=/etc/my.cnf"))
        #expect(
            CryptoRoute.decide(
                environmentConfig: nil, systemConfig: nil,
                read: { $0 == "/proc/sys/crypto/fips_enabled" ? "1\n" : nil })
                == .configured(reason: "the kernel is in FIPS mode"))
    }
}
