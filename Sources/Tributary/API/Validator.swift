import Foundation
import TributaryConnectors

/// Collects every field error of a request body, so the client learns them all at once.
struct Validator {
    private(set) var errors: [FieldError] = []

    mutating func fail(_ field: String, _ message: String) {
        errors.append(FieldError(field: field, message: message))
    }

    /// A trimmed name of 1 to `maxLength` characters.
    mutating func name(_ value: String?, field: String, maxLength: Int = 200) -> String? {
        guard let value else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.containsControlCharacter {
            fail(field, "must not contain control characters")
            return nil
        }
        if trimmed.isEmpty {
            fail(field, "must not be blank")
            return nil
        }
        // Counted as sent, in code points, as the spec's `maxLength` counts: what trimming would
        // remove counts too, so no value the schema refuses is taken.
        if value.unicodeScalars.count > maxLength {
            fail(field, "must be at most \(maxLength) characters")
            return nil
        }
        return trimmed
    }

    /// Addresses that look deliverable, duplicates removed, at most `maxCount`.
    mutating func emails(_ values: [String]?, field: String, maxCount: Int = 20) -> [String]? {
        guard let values else { return nil }
        var result: [String] = []
        var failed = false
        for (index, raw) in values.enumerated() {
            let email = raw.trimmingCharacters(in: .whitespaces)
            if EmailAddress.isValid(email) {
                if !result.contains(where: { $0.caseInsensitiveCompare(email) == .orderedSame }) { result.append(email) }
            } else {
                fail("\(field)[\(index)]", "is not a valid email address")
                failed = true
            }
        }
        if result.count > maxCount {
            fail(field, "must hold at most \(maxCount) addresses")
            failed = true
        }
        return failed ? nil : result
    }

    func check() throws(APIError) {
        if !errors.isEmpty { throw APIError.validation(errors) }
    }
}

extension String {
    /// A control character (Unicode's Cc: U+0000–U+001F, U+007F–U+009F), which no name, label
    /// or key may hold (`Text` in openapi.yaml).
    var containsControlCharacter: Bool {
        unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
