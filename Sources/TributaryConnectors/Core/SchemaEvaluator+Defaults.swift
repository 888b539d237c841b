/// Filling in the `default`s a schema gives for absent object members.
extension SchemaEvaluator {
    func fillingDefaults(_ value: JSONValue, schema: JSONValue, refs: Set<String>) -> JSONValue {
        guard case .object(let keywords) = schema else { return value }
        var result = value

        if case .object(let members) = result {
            result = .object(fillingMemberDefaults(members, keywords))
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
        if let branch = conditionalBranch(for: result, keywords, refs: refs) {
            result = fillingDefaults(result, schema: branch, refs: refs)
        }
        return result
    }

    private func fillingMemberDefaults(_ members: [String: JSONValue], _ keywords: Keywords) -> [String: JSONValue] {
        var members = members
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
        return members
    }
}
