/// The one rule for what Tributary takes as an email address: alert recipients and a config
/// schema's `"format": "email"` both ask it.
public enum EmailAddress {
    /// local@domain.tld, no whitespace and none of `<`, `>` or `,` (which would smuggle in another
    /// recipient), within SMTP's lengths (254 in all, 64 before the `@`, 63 a label). Loose otherwise:
    /// only the mail server can truly judge an address.
    public static func isValid(_ value: String) -> Bool {
        guard value.count <= 254, value.allSatisfy({ !$0.isWhitespace && !$0.isNewline && $0 != "<" && $0 != ">" && $0 != "," })
        else { return false }
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && $0.count <= 63 && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
    }
}
