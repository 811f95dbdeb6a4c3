internal import SystemSupport

extension HTTPURL {
    /// `HTTPURL(text)` with its failure as the transport reports it.
    static func forTransport(_ text: String) throws(HTTPError) -> HTTPURL {
        do {
            return try HTTPURL(text)
        } catch {
            throw .invalidURL(error.description)
        }
    }

    /// `resolving(_:)` with its failure as the transport reports it.
    func resolvingForTransport(_ reference: String) throws(HTTPError) -> HTTPURL {
        do {
            return try resolving(reference)
        } catch {
            throw .invalidURL(error.description)
        }
    }
}
