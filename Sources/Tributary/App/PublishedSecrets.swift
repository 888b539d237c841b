import Foundation

/// Secret values anyone can read: the placeholders this repository has published (the former
/// `docker-compose.yml` defaults, which may live on in people's `.env` files). A server started
/// with one of them is open to whoever read the repository, so it refuses to start.
enum PublishedSecrets {
    static let adminTokens: Set<String> = [
        "trb_admin_REPLACE_ME_0000000000000000"
    ]

    /// The base64 of published encryption keys (the part after `id:`).
    static let encryptionKeys: Set<String> = [
        "UkVQTEFDRS1NRS1SRVBMQUNFLU1FLVJFUExBQ0UtTUU="
    ]

    /// What is wrong with the given secrets, a line for each, naming the variable.
    static func problems(adminToken: String, encryptionKeys text: String?) -> [String] {
        var problems: [String] = []
        if adminTokens.contains(adminToken) {
            problems.append("TRIBUTARY_ADMIN_TOKEN is a published placeholder; make a token of your own (openssl rand -hex 32)")
        }
        let keys = (text ?? "").split(separator: ",").compactMap { $0.split(separator: ":", maxSplits: 1).last }
        for key in keys where encryptionKeys.contains(key.trimmingCharacters(in: .whitespaces)) {
            problems.append("TRIBUTARY_ENCRYPTION_KEYS holds a published placeholder key; make one of your own (openssl rand -base64 32)")
        }
        return problems
    }
}
