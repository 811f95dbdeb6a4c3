import Testing

/// The parent of every Transport suite that talks to a fixture server, run one test at a time: the time bounds
/// they assert (a 1 s timeout fails in < 3 s, a refused connection fails at once) measure the client, not a 2-core
/// machine busy starting thirty Python fixtures and openssl runs in parallel.
@Suite(.serialized) enum TransportSuite {}
