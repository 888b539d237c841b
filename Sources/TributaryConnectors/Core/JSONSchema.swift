import Foundation

/// One way a JSON value breaks its schema, named the way an API client names the field.
public struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// `config.base_url`, `config.streams[2].path`, or the caller's root when the value itself is at fault.
    public var path: String
    /// A clause that reads after the path: "is required", "must be at least 30".
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path) \(message)" }
}

/// Checks JSON values against the subset of JSON Schema 2020-12 that provider config schemas use.
public enum JSONSchema {
    /// Every violation of `value` against `schema`, in a stable order (object members by key, then array index).
    ///
    /// The schema's document order would read best, but `JSONValue.object` is a `Dictionary` and has lost
    /// it by the time it gets here; sorted keys are the next best thing, the same on every run.
    /// `root` prefixes every path, so a caller validating a request's `config` passes "config".
    public static func validate(_ value: JSONValue, against schema: JSONValue, at root: String = "") -> [SchemaViolation] {
        // Schemas speak of numbers; a huge exact integer is judged as the number it is.
        let found = Evaluator(root: schema).violations(of: value.numbersAsDoubles, against: schema, at: root, refs: [])
        // allOf branches and $ref targets often restate a constraint; the client should read each fault once.
        var seen = Set<SchemaViolation>()
        return found.filter { seen.insert($0).inserted }
    }

    /// `value` with the schema's `default`s filled in for absent object properties (recursively, only where the schema gives "default").
    ///
    /// Only objects gain members, so a missing config should be passed as an empty object, not null.
    public static func applyingDefaults(_ value: JSONValue, schema: JSONValue) -> JSONValue {
        Evaluator(root: schema).fillingDefaults(value, schema: schema, refs: [])
    }
}

private struct Evaluator {
    /// The schema `$ref`s resolve against.
    let root: JSONValue

    // `refs` holds the references already followed at the current instance location: meeting one again
    // without descending into the value can only be a cycle, so it is cut there. Descending resets it.

    func violations(of value: JSONValue, against schema: JSONValue, at path: String, refs: Set<String>) -> [SchemaViolation] {
        let keywords: [String: JSONValue]
        switch schema {
        case .bool(true): return []
        case .bool(false): return [SchemaViolation(path: path, message: "is not allowed")]
        case .object(let object): keywords = object
        default: return []  // not a schema, so it cannot forbid anything
        }
        // Every other keyword's message would be noise once the value is the wrong kind of thing.
        if let message = typeFault(of: value, type: keywords["type"]) {
            return [SchemaViolation(path: path, message: message)]
        }

        var found: [SchemaViolation] = []
        func fault(_ message: String) { found.append(SchemaViolation(path: path, message: message)) }

        if let expected = keywords["const"], value != expected {
            fault("must be \(Self.text(expected))")
        }
        if case .array(let options)? = keywords["enum"], !options.contains(value) {
            fault("must be one of: \(options.map(Self.text).joined(separator: ", "))")
        }

        switch value {
        case .string(let string):
            let length = string.count
            if let minimum = Self.count(keywords["minLength"]), length < minimum {
                fault("must be at least \(Self.plural(minimum, "character"))")
            }
            if let maximum = Self.count(keywords["maxLength"]), length > maximum {
                fault("must be at most \(Self.plural(maximum, "character"))")
            }
            // An uncompilable pattern is the schema author's bug; rejecting every config over it would lock users out.
            if case .string(let pattern)? = keywords["pattern"],
               let regex = try? NSRegularExpression(pattern: pattern),
               regex.firstMatch(in: string, range: NSRange(string.startIndex..., in: string)) == nil
            {
                fault("must match pattern \(pattern)")
            }
            switch keywords["format"] {
            case .string("uri")?: if !Self.isWebURL(string) { fault("must be an http or https URL") }
            case .string("email")?: if !Self.isEmail(string) { fault("must be an email address") }
            default: break  // other formats are annotations only, as the spec allows
            }

        case .number(let number):
            if case .number(let bound)? = keywords["minimum"], number < bound {
                fault("must be at least \(Self.text(bound))")
            }
            if case .number(let bound)? = keywords["exclusiveMinimum"], number <= bound {
                fault("must be greater than \(Self.text(bound))")
            }
            if case .number(let bound)? = keywords["maximum"], number > bound {
                fault("must be at most \(Self.text(bound))")
            }
            if case .number(let bound)? = keywords["exclusiveMaximum"], number >= bound {
                fault("must be less than \(Self.text(bound))")
            }

        case .array(let elements):
            if let minimum = Self.count(keywords["minItems"]), elements.count < minimum {
                fault("must have at least \(Self.plural(minimum, "item"))")
            }
            if let maximum = Self.count(keywords["maxItems"]), elements.count > maximum {
                fault("must have at most \(Self.plural(maximum, "item"))")
            }
            if keywords["uniqueItems"] == .bool(true), Set(elements).count != elements.count {
                fault("must not contain duplicate items")
            }
            // A list in `items` is the pre-2020 tuple form, which this subset leaves unchecked.
            if let items = keywords["items"], Self.isSchema(items) {
                for (index, element) in elements.enumerated() {
                    found += violations(of: element, against: items, at: "\(path)[\(index)]", refs: [])
                }
            }

        case .object(let members):
            let properties = Self.object(keywords["properties"]) ?? [:]
            let required = Self.strings(keywords["required"])
            let additional = keywords["additionalProperties"].flatMap { Self.isSchema($0) ? $0 : nil }
            // One pass per field keeps all of a field's faults together in the answer.
            for key in Set(required).union(members.keys).sorted() {
                let fieldPath = Self.join(path, key)
                guard let member = members[key] else {
                    if required.contains(key) { found.append(SchemaViolation(path: fieldPath, message: "is required")) }
                    continue
                }
                if let property = properties[key] {
                    found += violations(of: member, against: property, at: fieldPath, refs: [])
                } else if let additional {
                    found += violations(of: member, against: additional, at: fieldPath, refs: [])
                }
            }

        case .null, .bool, .integer:  // .integer never reaches here: validate turns it into .number
            break
        }

        if case .string(let ref)? = keywords["$ref"], !refs.contains(ref), let target = resolve(ref) {
            found += violations(of: value, against: target, at: path, refs: refs.union([ref]))
        }
        if case .array(let branches)? = keywords["allOf"] {
            for branch in branches {
                found += violations(of: value, against: branch, at: path, refs: refs)
            }
        }
        if case .array(let branches)? = keywords["anyOf"], !branches.isEmpty {
            let outcomes = branches.map { violations(of: value, against: $0, at: path, refs: refs) }
            if !outcomes.contains(where: \.isEmpty) {
                found += noneMatched(value, branches: branches, outcomes: outcomes, at: path)
            }
        }
        if case .array(let branches)? = keywords["oneOf"], !branches.isEmpty {
            let outcomes = branches.map { violations(of: value, against: $0, at: path, refs: refs) }
            switch outcomes.count(where: \.isEmpty) {
            case 0: found += noneMatched(value, branches: branches, outcomes: outcomes, at: path)
            case 1: break
            default: fault("matches more than one of the allowed shapes")
            }
        }
        if let condition = keywords["if"], Self.isSchema(condition) {
            let holds = violations(of: value, against: condition, at: path, refs: refs).isEmpty
            if let branch = keywords[holds ? "then" : "else"] {
                found += violations(of: value, against: branch, at: path, refs: refs)
            }
        }
        return found
    }

    /// Faults for a value no oneOf/anyOf branch accepts: the discriminated branch's own faults are what
    /// the client can act on ("auth.api_key is required"); without one, listing every branch's faults would only confuse.
    private func noneMatched(
        _ value: JSONValue, branches: [JSONValue], outcomes: [[SchemaViolation]], at path: String
    ) -> [SchemaViolation] {
        if let index = discriminatedBranch(for: value, among: branches) { return outcomes[index] }
        return [SchemaViolation(path: path, message: "matches none of the allowed shapes")]
    }

    /// The first branch whose `const`/`enum` properties the value has and satisfies, with none it contradicts,
    /// so a shared enum field (say `region`) cannot pick a branch whose `type` tag disagrees.
    func discriminatedBranch(for value: JSONValue, among branches: [JSONValue]) -> Int? {
        guard case .object(let members) = value else { return nil }
        for (index, branch) in branches.enumerated() {
            guard let properties = Self.object(keyword("properties", in: branch)) else { continue }
            var agrees = false
            var contradicts = false
            for (key, property) in properties {
                let allowed: [JSONValue]
                if let constant = keyword("const", in: property) {
                    allowed = [constant]
                } else if case .array(let options)? = keyword("enum", in: property) {
                    allowed = options
                } else {
                    continue
                }
                guard let member = members[key] else { continue }
                if allowed.contains(member) { agrees = true } else { contradicts = true }
            }
            if agrees && !contradicts { return index }
        }
        return nil
    }

    func fillingDefaults(_ value: JSONValue, schema: JSONValue, refs: Set<String>) -> JSONValue {
        guard case .object(let keywords) = schema else { return value }
        var result = value

        if case .object(var members) = result {
            let properties = Self.object(keywords["properties"]) ?? [:]
            for (key, property) in properties {
                if let member = members[key] {
                    members[key] = fillingDefaults(member, schema: property, refs: [])
                } else if let fallback = keyword("default", in: property) {
                    // A default object may itself leave room for nested defaults.
                    members[key] = fillingDefaults(fallback, schema: property, refs: [])
                }
            }
            if let additional = keywords["additionalProperties"], case .object = additional {
                for (key, member) in members where properties[key] == nil {
                    members[key] = fillingDefaults(member, schema: additional, refs: [])
                }
            }
            result = .object(members)
        }
        if case .array(let elements) = result, let items = keywords["items"] {
            result = .array(elements.map { fillingDefaults($0, schema: items, refs: []) })
        }

        if case .string(let ref)? = keywords["$ref"], !refs.contains(ref), let target = resolve(ref) {
            result = fillingDefaults(result, schema: target, refs: refs.union([ref]))
        }
        if case .array(let branches)? = keywords["allOf"] {
            for branch in branches {
                result = fillingDefaults(result, schema: branch, refs: refs)
            }
        }
        // Only a branch the value clearly belongs to may add members; guessing would invent config.
        for combinator in ["oneOf", "anyOf"] {
            guard case .array(let branches)? = keywords[combinator] else { continue }
            if let index = discriminatedBranch(for: result, among: branches) {
                result = fillingDefaults(result, schema: branches[index], refs: refs)
            } else {
                let passing = branches.filter { violations(of: result, against: $0, at: "", refs: refs).isEmpty }
                if passing.count == 1 {
                    result = fillingDefaults(result, schema: passing[0], refs: refs)
                }
            }
        }
        if let condition = keywords["if"], Self.isSchema(condition) {
            let holds = violations(of: result, against: condition, at: "", refs: refs).isEmpty
            if let branch = keywords[holds ? "then" : "else"] {
                result = fillingDefaults(result, schema: branch, refs: refs)
            }
        }
        return result
    }

    /// `name` in `schema`, or in what its `$ref` chain points to, for the places that read a schema
    /// rather than apply it (discriminators, defaults) and would otherwise miss shapes kept in `$defs`.
    private func keyword(_ name: String, in schema: JSONValue) -> JSONValue? {
        var current = schema
        var followed: Set<String> = []
        while case .object(let keywords) = current {
            if let found = keywords[name] { return found }
            guard case .string(let ref)? = keywords["$ref"], followed.insert(ref).inserted,
                  let target = resolve(ref) else { return nil }
            current = target
        }
        return nil
    }

    /// A same-document JSON Pointer reference such as `#/$defs/auth`; anything else resolves to nothing,
    /// which leaves the value unconstrained, like any other schema mistake.
    private func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#") else { return nil }
        let fragment = String(ref.dropFirst())
        let pointer = fragment.removingPercentEncoding ?? fragment
        guard pointer.isEmpty || pointer.hasPrefix("/") else { return nil }  // named anchors are outside the subset
        return JSONPointer.resolve(pointer, in: root)
    }

    private func typeFault(of value: JSONValue, type: JSONValue?) -> String? {
        let names: [String]
        switch type {
        case .string(let name)?: names = [name]
        case .array?: names = Self.strings(type)
        default: return nil
        }
        // Unknown type names are schema typos; they neither admit nor reject anything.
        let known = names.filter { Self.noun(forType: $0) != nil }
        guard !known.isEmpty, !known.contains(where: { Self.value(value, isOfType: $0) }) else { return nil }
        let nouns = known.compactMap(Self.noun(forType:))
        let listed = nouns.count == 1
            ? nouns[0]
            : nouns.dropLast().joined(separator: ", ") + " or " + nouns[nouns.count - 1]
        return "must be \(listed)"
    }

    private static func noun(forType name: String) -> String? {
        switch name {
        case "string": "a string"
        case "integer": "an integer"
        case "number": "a number"
        case "boolean": "a boolean"
        case "object": "an object"
        case "array": "an array"
        case "null": "null"
        default: nil
        }
    }

    private static func value(_ value: JSONValue, isOfType name: String) -> Bool {
        switch (name, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("number", .number),
             ("array", .array), ("object", .object):
            true
        case ("integer", .number(let number)):
            number.isFinite && number.rounded(.towardZero) == number
        default:
            false
        }
    }

    private static func isSchema(_ value: JSONValue) -> Bool {
        switch value {
        case .object, .bool: true
        default: false
        }
    }

    private static func object(_ value: JSONValue?) -> [String: JSONValue]? {
        if case .object(let members)? = value { members } else { nil }
    }

    private static func strings(_ value: JSONValue?) -> [String] {
        guard case .array(let entries)? = value else { return [] }
        return entries.compactMap { entry in
            if case .string(let string) = entry { string } else { nil }
        }
    }

    /// A non-negative whole number from a length or size keyword; anything else is no constraint.
    private static func count(_ value: JSONValue?) -> Int? {
        guard case .number(let number)? = value, number >= 0 else { return nil }
        return Int(exactly: number)
    }

    private static func plural(_ count: Int, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// Web URLs only: a config URL is something Tributary will call, so `mailto:` or a bare path is a mistake.
    private static func isWebURL(_ string: String) -> Bool {
        guard let components = URLComponents(string: string),
              let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    /// Deliberately loose (local@domain.tld, no whitespace): only the mail server can truly judge an address.
    private static func isEmail(_ string: String) -> Bool {
        guard !string.contains(where: \.isWhitespace) else { return false }
        let halves = string.split(separator: "@", omittingEmptySubsequences: false)
        guard halves.count == 2, !halves[0].isEmpty else { return false }
        let labels = halves[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty }
    }

    /// How a schema value reads inside a message: strings bare, as a client would type them.
    private static func text(_ value: JSONValue) -> String {
        if case .string(let string) = value { return string }
        return json(value)
    }

    private static func text(_ number: Double) -> String {
        // 30, not 30.0: the bound as the schema author wrote it.
        if number.rounded(.towardZero) == number, abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }

    private static func json(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let number): text(number)
        case .integer(let number): String(number)
        case .string(let string):
            "\"" + string.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .array(let elements): "[" + elements.map(json).joined(separator: ", ") + "]"
        case .object(let members):
            "{" + members.keys.sorted().map { key in json(.string(key)) + ": " + json(members[key] ?? .null) }
                .joined(separator: ", ") + "}"
        }
    }
}
