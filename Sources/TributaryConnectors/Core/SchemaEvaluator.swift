import Foundation

/// Applies one schema document (the root `$ref`s resolve against) to values.
///
/// `refs` holds the references already followed at the current instance location: meeting one again
/// without descending into the value can only be a cycle, so it is cut there. Descending resets it.
struct SchemaEvaluator {
    typealias Keywords = [String: JSONValue]

    /// The schema `$ref`s resolve against.
    let root: JSONValue

    func violations(of value: JSONValue, against schema: JSONValue, at path: String, refs: Set<String>) -> [SchemaViolation] {
        let keywords: Keywords
        switch schema {
        case .bool(true): return []
        case .bool(false): return [SchemaViolation(path: path, message: "is not allowed")]
        case .object(let object): keywords = object
        default: return []  // not a schema, so it cannot forbid anything
        }
        // Every other keyword's message would be noise once the value is the wrong kind of thing.
        if let message = Self.typeFault(of: value, type: keywords["type"]) {
            return [SchemaViolation(path: path, message: message)]
        }
        let faults: [String]
        var nested: [SchemaViolation] = []
        switch value {
        case .string(let string): faults = Self.stringFaults(string, keywords)
        case .number(let number): faults = Self.numberFaults(number, keywords)
        case .array(let elements):
            faults = Self.arrayFaults(elements, keywords)
            nested = itemViolations(elements, keywords, at: path)
        case .object(let members):
            faults = []
            nested = memberViolations(members, keywords, at: path) + productViolations(members, keywords, at: path)
        case .null, .bool, .integer:  // .integer never reaches here: validate turns it into .number
            faults = []
        }
        let own = (Self.valueFaults(value, keywords) + faults).map { SchemaViolation(path: path, message: $0) }
        return own + nested + combinatorViolations(of: value, keywords, at: path, refs: refs)
    }

    // MARK: - By kind of value

    /// `const` and `enum`, which judge any kind of value.
    private static func valueFaults(_ value: JSONValue, _ keywords: Keywords) -> [String] {
        var faults: [String] = []
        if let expected = keywords["const"], value != expected {
            faults.append("must be \(text(expected))")
        }
        if case .array(let options)? = keywords["enum"], !options.contains(value) {
            faults.append("must be one of: \(options.map(text).joined(separator: ", "))")
        }
        return faults
    }

    private static func stringFaults(_ string: String, _ keywords: Keywords) -> [String] {
        var faults: [String] = []
        let length = string.count
        if let minimum = count(keywords["minLength"]), length < minimum {
            faults.append("must be at least \(plural(minimum, "character"))")
        }
        if let maximum = count(keywords["maxLength"]), length > maximum {
            faults.append("must be at most \(plural(maximum, "character"))")
        }
        // An uncompilable pattern is the schema author's bug; rejecting every config over it would lock users out.
        if case .string(let pattern)? = keywords["pattern"],
            let regex = try? NSRegularExpression(pattern: pattern),
            regex.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) == nil
        {
            faults.append("must match pattern \(pattern)")
        }
        switch keywords["format"] {
        case .string("uri")?: if !isWebURL(string) { faults.append("must be an http or https URL") }
        case .string("email")?: if !EmailAddress.isValid(string) { faults.append("must be an email address") }
        case .string("tenant-header")?: if let refusal = TenantHeaderRule.refusal(string) { faults.append(refusal) }
        default: break  // other formats are annotations only, as the spec allows
        }
        return faults
    }

    private static func numberFaults(_ number: Double, _ keywords: Keywords) -> [String] {
        var faults: [String] = []
        if case .number(let bound)? = keywords["minimum"], number < bound {
            faults.append("must be at least \(text(bound))")
        }
        if case .number(let bound)? = keywords["exclusiveMinimum"], number <= bound {
            faults.append("must be greater than \(text(bound))")
        }
        if case .number(let bound)? = keywords["maximum"], number > bound {
            faults.append("must be at most \(text(bound))")
        }
        if case .number(let bound)? = keywords["exclusiveMaximum"], number >= bound {
            faults.append("must be less than \(text(bound))")
        }
        return faults
    }

    private static func arrayFaults(_ elements: [JSONValue], _ keywords: Keywords) -> [String] {
        var faults: [String] = []
        if let minimum = count(keywords["minItems"]), elements.count < minimum {
            faults.append("must have at least \(plural(minimum, "item"))")
        }
        if let maximum = count(keywords["maxItems"]), elements.count > maximum {
            faults.append("must have at most \(plural(maximum, "item"))")
        }
        if keywords["uniqueItems"] == .bool(true), Set(elements).count != elements.count {
            faults.append("must not contain duplicate items")
        }
        return faults
    }

    private func itemViolations(_ elements: [JSONValue], _ keywords: Keywords, at path: String) -> [SchemaViolation] {
        // A list in `items` is the pre-2020 tuple form, which this subset leaves unchecked.
        guard let items = keywords["items"], Self.isSchema(items) else { return [] }
        return elements.enumerated().flatMap { index, element in
            violations(of: element, against: items, at: "\(path)[\(index)]", refs: [])
        }
    }

    private func memberViolations(_ members: [String: JSONValue], _ keywords: Keywords, at path: String) -> [SchemaViolation] {
        let properties = Self.object(keywords["properties"]) ?? [:]
        let required = Self.strings(keywords["required"])
        let additional = keywords["additionalProperties"].flatMap { Self.isSchema($0) ? $0 : nil }
        var found: [SchemaViolation] = []
        // One pass per field keeps all of a field's faults together in the answer.
        for key in Set(required).union(members.keys).sorted() {
            let fieldPath = Self.join(path, key)
            guard let member = members[key] else {
                if required.contains(key) { found.append(SchemaViolation(path: fieldPath, message: "is required")) }
                continue
            }
            if let schema = properties[key] ?? additional {
                found += violations(of: member, against: schema, at: fieldPath, refs: [])
            }
        }
        return found
    }
}
