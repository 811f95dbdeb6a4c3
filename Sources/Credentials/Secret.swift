/// A secret value (password, token, key material). It prints as `<redacted>` everywhere — string
/// interpolation, `dump`, logs — so a secret can only leave the process through the code paths that ask for
/// `exposedValue` on purpose (helper stdout, an encrypted file, an auth file).
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let exposedValue: String

    public init(_ value: String) { exposedValue = value }

    public var isEmpty: Bool { exposedValue.isEmpty }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
