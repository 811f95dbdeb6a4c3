import SystemSupport
import Testing

/// Which hosts get plain HTTP without a setting: literals of 127.0.0.0/8 and ::1 and the RFC 6761 localhost
/// names, with or without a port; never a name that only resolves there, never another private address.
@Suite("LoopbackHost")
struct LoopbackHostTests {
    @Test(arguments: [
        "localhost", "LOCALHOST:5000", "registry.localhost", "127.0.0.1", "127.255.0.9:443", "[::1]", "[::1]:5000",
        "::1", "[::ffff:127.0.0.1]:80", "0:0:0:0:0:0:0:1",
    ])
    func loopback(host: String) {
        #expect(LoopbackHost.isLoopback(host))
    }

    @Test(arguments: [
        "", "localhost.example", "notlocalhost", "128.0.0.1", "10.0.0.1", "169.254.169.254", "0.0.0.0", "[::]",
        "[::2]", "[::ffff:10.0.0.1]", "127.0.0.1.nip.io", "[::1", "fe80::1",
    ])
    func notLoopback(host: String) {
        #expect(!LoopbackHost.isLoopback(host))
    }
}
