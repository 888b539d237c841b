/// Which request header a tenant's config may name (`rest`'s `auth.header`, and any header a
/// connector lets a tenant set): a plain field name (RFC 9110 token), and none that steers the
/// request itself — `Host`, the hop-by-hop headers, `Content-Length`, `Proxy-*` — or that cloud
/// metadata services trust (`Metadata*`, `Metadata-Flavor`, `X-aws-ec2-metadata-token*`).
/// Config schemas apply it with `"format": "tenant-header"`.
public enum TenantHeaderRule {
    static let refused: Set<String> = [
        "host", "content-length", "connection", "keep-alive", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
    ]
    static let refusedPrefixes = ["proxy-", "metadata", "x-aws-ec2-metadata-token", "x-google-metadata"]
    static let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    /// Nil when `name` may be set; otherwise why not, as a clause that reads after the field's name.
    public static func refusal(_ name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 256, name.utf8.allSatisfy(tokenCharacters.contains) else {
            return "must be a header name: letters, digits and !#$%&'*+-.^_`|~, at most 256 of them"
        }
        let lowered = name.lowercased()
        if refused.contains(lowered) || refusedPrefixes.contains(where: lowered.hasPrefix) {
            return "must not be Host, Content-Length, a hop-by-hop, Proxy-* or Metadata* header"
        }
        return nil
    }
}
