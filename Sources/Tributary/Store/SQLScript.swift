import Foundation

/// Splits a SQL file into statements. PostgresNIO speaks only the extended protocol, one
/// statement per query, so a migration file is cut at each top-level `;` — never inside quotes,
/// dollar-quoted bodies or comments.
enum SQLScript {
    static func statements(in text: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var iterator = Array(text.unicodeScalars)[...]
        var hasCode = false

        func flush() {
            let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if hasCode, !trimmed.isEmpty { statements.append(trimmed) }
            current = ""
            hasCode = false
        }

        while let scalar = iterator.first {
            let rest = iterator
            if rest.starts(with: "--".unicodeScalars) {
                let end = rest.firstIndex(of: "\n") ?? rest.endIndex
                current.unicodeScalars.append(contentsOf: rest[rest.startIndex..<end])
                iterator = rest[end...]
            } else if rest.starts(with: "/*".unicodeScalars) {
                let body = rest.dropFirst(2)
                let close = body.firstRange(of: "*/".unicodeScalars)?.upperBound ?? rest.endIndex
                current.unicodeScalars.append(contentsOf: rest[rest.startIndex..<close])
                iterator = rest[close...]
            } else if scalar == "'" || scalar == "\"" {
                let end = rest.dropFirst().firstIndex(of: scalar).map { rest.index(after: $0) } ?? rest.endIndex
                current.unicodeScalars.append(contentsOf: rest[rest.startIndex..<end])
                iterator = rest[end...]
                hasCode = true
            } else if scalar == "$", let tag = dollarTag(at: rest) {
                let body = rest.dropFirst(tag.count)
                let close = body.firstRange(of: tag)?.upperBound ?? rest.endIndex
                current.unicodeScalars.append(contentsOf: rest[rest.startIndex..<close])
                iterator = rest[close...]
                hasCode = true
            } else if scalar == ";" {
                iterator = rest.dropFirst()
                flush()
            } else {
                current.unicodeScalars.append(scalar)
                if !scalar.properties.isWhitespace { hasCode = true }
                iterator = rest.dropFirst()
            }
        }
        flush()
        return statements
    }

    /// `$$` or `$tag$` starting at the head of `text`, if that is what stands there.
    private static func dollarTag(at text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar]? {
        var tag: [Unicode.Scalar] = ["$"]
        for scalar in text.dropFirst() {
            if scalar == "$" { return tag + ["$"] }
            guard scalar.properties.isAlphabetic || scalar == "_" || ("0"..."9").contains(scalar) else { return nil }
            tag.append(scalar)
        }
        return nil
    }
}
