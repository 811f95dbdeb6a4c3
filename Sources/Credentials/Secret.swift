/// A secret value (password, token, key material). It prints as `<redacted>` everywhere — string
/// interpolation, `dump`, logs — so a secret can only leave the process through the code paths that ask for
/// `exposedValue` on purpose (helper stdout, an encrypted file, an auth file).
package struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    package let exposedValue: String

    package init(_ value: String) { exposedValue = value }

    package var isEmpty: Bool { exposedValue.isEmpty }
    package var description: String { "<redacted>" }
    package var debugDescription: String { "Secret(<redacted>)" }
    package var customMirror: Mirror { Mirror(self, children: [:]) }
}
