import Foundation

/// Reading a schema: `$ref`s, type names, and the small conversions the messages need.
extension SchemaEvaluator {
    /// `name` in `schema`, or in what its `$ref` chain points to, for the places that read a schema
    /// rather than apply it (discriminators, defaults) and would otherwise miss shapes kept in `$defs`.
    func keyword(_ name: String, in schema: JSONValue) -> JSONValue? {
        var current = schema
        var followed: Set<String> = []
        while case .object(let keywords) = current {
            if let found = keywords[name] { return found }
            guard case .string(let ref)? = keywords["$ref"], followed.insert(ref).inserted,
                let target = resolve(ref)
            else { return nil }
            current = target
        }
        return nil
    }

    /// A same-document JSON Pointer reference such as `#/$defs/auth`; anything else resolves to nothing,
    /// which leaves the value unconstrained, like any other schema mistake.
    func resolve(_ ref: String) -> JSONValue? {
        guard ref.hasPrefix("#") else { return nil }
        let fragment = String(ref.dropFirst())
        let pointer = fragment.removingPercentEncoding ?? fragment
        guard pointer.isEmpty || pointer.hasPrefix("/") else { return nil }  // named anchors are outside the subset
        return JSONPointer.resolve(pointer, in: root)
    }

    static func typeFault(of value: JSONValue, type: JSONValue?) -> String? {
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
        let listed =
            nouns.count == 1
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

    static func isSchema(_ value: JSONValue) -> Bool {
        switch value {
        case .object, .bool: true
        default: false
        }
    }

    static func object(_ value: JSONValue?) -> [String: JSONValue]? {
        if case .object(let members)? = value { members } else { nil }
    }

    static func strings(_ value: JSONValue?) -> [String] {
        guard case .array(let entries)? = value else { return [] }
        return entries.compactMap { entry in
            if case .string(let string) = entry { string } else { nil }
        }
    }

    /// A non-negative whole number from a length or size keyword; anything else is no constraint.
    static func count(_ value: JSONValue?) -> Int? {
        guard case .number(let number)? = value, number >= 0 else { return nil }
        return Int(exactly: number)
    }

    static func plural(_ count: Int, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// Web URLs only: a config URL is something Tributary will call, so `mailto:` or a bare path is a mistake.
    static func isWebURL(_ string: String) -> Bool {
        guard let components = URLComponents(string: string),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    /// How a schema value reads inside a message: strings bare, as a client would type them.
    static func text(_ value: JSONValue) -> String {
        if case .string(let string) = value { return string }
        return json(value)
    }

    static func text(_ number: Double) -> String {
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
            "{"
                + members.keys.sorted().map { key in json(.string(key)) + ": " + json(members[key] ?? .null) }
                .joined(separator: ", ") + "}"
        }
    }
}

extension SchemaEvaluator {
    /// `x-maximumProduct: {"properties": ["a", "b"], "maximum": n}`: the product of those numeric
    /// members (an absent one counts as 1) may be at most `n`, a bound no standard keyword can say.
    /// The fault names the last member present, the one whose own bound is usually the larger.
    func productViolations(_ members: [String: JSONValue], _ keywords: Keywords, at path: String) -> [SchemaViolation] {
        guard case .object(let rule)? = keywords["x-maximumProduct"], case .number(let maximum)? = rule["maximum"] else { return [] }
        let names = Self.strings(rule["properties"])
        var product = 1.0
        var present: [String] = []
        for name in names {
            guard case .number(let value)? = members[name] else { continue }
            product *= value
            present.append(name)
        }
        guard let last = present.last, product > maximum else { return [] }
        let others = present.dropLast()
        let factor = others.isEmpty ? "" : "times \(others.joined(separator: " times ")) "
        return [SchemaViolation(path: Self.join(path, last), message: "\(factor)must be at most \(Self.text(maximum))")]
    }
}
