import Foundation

/// A received message as Python's `email` package reads it (`parse_mail.py` next to this file):
/// decoded headers and the decoded text of each part.
struct ParsedMail: Sendable, Decodable {
    struct Part: Sendable, Decodable {
        var contentType: String
        var charset: String?
        var transferEncoding: String
        var body: String
    }

    var headers: [[String]]
    var contentType: String
    var parts: [Part]
    var longestLine: Int
    var bareLineFeeds: Int
    var defects: [String]

    /// Every value of the header `name` (case-insensitive), decoded.
    func header(_ name: String) -> [String] {
        headers.filter { $0.first?.lowercased() == name.lowercased() }.compactMap { $0.last }
    }

    func part(_ contentType: String) -> Part? { parts.first { $0.contentType == contentType } }

    init(_ raw: String) async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("parse_mail.py").path
        let parsed = try await ChildProcess.launch(SMTPSink.python, [script], input: Array(raw.utf8)).finish()
        guard parsed.status == 0 else { throw TestSetupError("parse_mail.py failed with \(parsed.status): \(parsed.output)") }
        let data = Data(parsed.output.utf8)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        self = try decoder.decode(ParsedMail.self, from: data)
    }
}
