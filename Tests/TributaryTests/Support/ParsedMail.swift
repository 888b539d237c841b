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

    init(_ raw: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SMTPSink.python)
        process.arguments = [URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("parse_mail.py").path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let writer = Thread {
            input.fileHandleForWriting.write(Data(raw.utf8))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestSetupError("parse_mail.py failed with \(process.terminationStatus)") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        self = try decoder.decode(ParsedMail.self, from: data)
    }
}
