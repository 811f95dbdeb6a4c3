/// JSON Web Token compact serialisation (RFC 7519 / RFC 7515 §7.1): `base64url(header).base64url(claims).
/// base64url(signature)`. JSON is built by the caller (the Crypto target stays free of a JSON library), so
/// this file only knows the framing.
package enum JWT {
    /// Signs already-serialised header and claims JSON with RS256.
    package static func sign(headerJSON: [UInt8], claimsJSON: [UInt8], signer: RSASigner) throws(CryptoError)
        -> String
    {
        let signingInput = base64URL(headerJSON) + "." + base64URL(claimsJSON)
        let signature = try signer.sign(Array(signingInput.utf8))
        return signingInput + "." + base64URL(signature)
    }

    /// The claims JSON bytes of a compact JWT, without verifying anything. For tokens someone else issued and
    /// will verify (an ACR refresh token, a Kubernetes service-account token): we only read `exp` to know when
    /// to refresh or to fail early with a clear message. nil when the text is not a three-part JWT.
    package static func unverifiedClaims(_ token: String) -> [UInt8]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty else { return nil }
        return Base64.decode(String(parts[1]))
    }

    /// base64url without padding (RFC 7515 §2), the only encoding JWS allows.
    package static func base64URL(_ bytes: some Collection<UInt8>) -> String {
        var text = Base64.encode(bytes)
        while text.hasSuffix("=") { text.removeLast() }
        return String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 })
    }
}
