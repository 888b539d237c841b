import Foundation

/// One file of `migrations/`: `NNNN_verb_object.sql`.
struct Migration: Sendable, Equatable {
    let version: Int
    let name: String
    let sql: String

    /// Reads every `NNNN_*.sql` in `directory`, in version order.
    static func load(from directory: URL) throws(MigrationError) -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw .unreadable(directory.path)
        }
        var migrations: [Migration] = []
        for name in names where name.hasSuffix(".sql") {
            guard let version = Int(name.prefix(while: \.isNumber)), name.dropFirst(4).first == "_" else {
                throw .badName(name)
            }
            guard let sql = try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8) else {
                throw .unreadable(name)
            }
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw .duplicateVersion(next.version)
        }
        return migrations
    }

    /// Where the `migrations/` folder is: `TRIBUTARY_MIGRATIONS_DIR` if set, else the first
    /// `migrations/` found walking up from the executable, then from the working directory,
    /// then the one this file was built from.
    static func locateDirectory(configured: String?) throws(MigrationError) -> URL {
        if let configured {
            let url = URL(fileURLWithPath: configured)
            guard isMigrationsFolder(url) else { throw .notFound([configured]) }
            return url
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? ".").resolvingSymlinksInPath()
        let starts = [
            executable.deletingLastPathComponent(),
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent(),
        ]
        var tried: [String] = []
        for start in starts {
            var folder = start.standardizedFileURL
            while true {
                let candidate = folder.appendingPathComponent("migrations")
                tried.append(candidate.path)
                if isMigrationsFolder(candidate) { return candidate }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        throw .notFound(Array(tried.prefix(6)))
    }

    private static func isMigrationsFolder(_ url: URL) -> Bool {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return false }
        return names.contains { $0.hasPrefix("0001_") && $0.hasSuffix(".sql") }
    }
}

/// The migrations folder cannot be found or read, or the database is ahead of this binary.
public enum MigrationError: Error, CustomStringConvertible {
    case notFound([String])
    case unreadable(String)
    case badName(String)
    case duplicateVersion(Int)
    case failed(name: String, reason: String)

    public var description: String {
        switch self {
        case .notFound(let tried):
            "no migrations folder found (set TRIBUTARY_MIGRATIONS_DIR); looked in: \(tried.joined(separator: ", "))"
        case .unreadable(let path): "cannot read migrations at \(path)"
        case .badName(let name): "migration file \(name) is not named NNNN_verb_object.sql"
        case .duplicateVersion(let version): "two migration files carry version \(version)"
        case .failed(let name, let reason): "migration \(name) failed: \(reason)"
        }
    }
}
