import Credentials
import Logging
import SystemSupport

/// The resolver every command uses, wired with the real providers, so `authfile`, `verify` and `get` can never
/// disagree about which credentials a registry gets.
enum Resolution {
    static func resolver(environment: OcicredEnvironment = .current, logger: Logger) -> Resolver {
        Resolver(environment: environment, providers: ProviderSet.standard(environment: environment), logger: logger)
    }
}
