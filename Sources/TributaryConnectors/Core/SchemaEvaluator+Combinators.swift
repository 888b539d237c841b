/// The keywords that apply other schemas to the same value: `$ref`, `allOf`, `anyOf`, `oneOf`
/// and `if`/`then`/`else`.
extension SchemaEvaluator {
    func combinatorViolations(of value: JSONValue, _ keywords: Keywords, at path: String, refs: Set<String>) -> [SchemaViolation] {
        refViolations(of: value, keywords, at: path, refs: refs)
            + allOfViolations(of: value, keywords, at: path, refs: refs)
            + anyOfViolations(of: value, keywords, at: path, refs: refs)
            + oneOfViolations(of: value, keywords, at: path, refs: refs)
            + conditionalViolations(of: value, keywords, at: path, refs: refs)
    }

    private func refViolations(of value: JSONValue, _ keywords: Keywords, at path: String, refs: Set<String>) -> [SchemaViolation] {
        guard case .string(let ref)? = keywords["$ref"], !refs.contains(ref), let target = resolve(ref) else { return [] }
        return violations(of: value, against: target, at: path, refs: refs.union([ref]))
    }

    private func allOfViolations(of value: JSONValue, _ keywords: Keywords, at path: String, refs: Set<String>) -> [SchemaViolation] {
        guard case .array(let branches)? = keywords["allOf"] else { return [] }
        return branches.flatMap { violations(of: value, against: $0, at: path, refs: refs) }
    }

    private func anyOfViolations(of value: JSONValue, _ keywords: Keywords, at path: String, refs: Set<String>) -> [SchemaViolation] {
        guard case .array(let branches)? = keywords["anyOf"], !branches.isEmpty else { return [] }
        let outcomes = branches.map { violations(of: value, against: $0, at: path, refs: refs) }
        if outcomes.contains(where: \.isEmpty) { return [] }
        return noneMatched(value, branches: branches, outcomes: outcomes, at: path)
    }

    private func oneOfViolations(of value: JSONValue, _ keywords: Keywords, at path: String, refs: Set<String>) -> [SchemaViolation] {
        guard case .array(let branches)? = keywords["oneOf"], !branches.isEmpty else { return [] }
        let outcomes = branches.map { violations(of: value, against: $0, at: path, refs: refs) }
        switch outcomes.count(where: \.isEmpty) {
        case 0: return noneMatched(value, branches: branches, outcomes: outcomes, at: path)
        case 1: return []
        default: return [SchemaViolation(path: path, message: "matches more than one of the allowed shapes")]
        }
    }

    private func conditionalViolations(of value: JSONValue, _ keywords: Keywords, at path: String, refs: Set<String>) -> [SchemaViolation] {
        guard let branch = conditionalBranch(for: value, keywords, refs: refs) else { return [] }
        return violations(of: value, against: branch, at: path, refs: refs)
    }

    /// `then` when the value meets `if`, `else` when it does not; nil without `if` or without that branch.
    func conditionalBranch(for value: JSONValue, _ keywords: Keywords, refs: Set<String>) -> JSONValue? {
        guard let condition = keywords["if"], Self.isSchema(condition) else { return nil }
        let holds = violations(of: value, against: condition, at: "", refs: refs).isEmpty
        return keywords[holds ? "then" : "else"]
    }

    /// Faults for a value no oneOf/anyOf branch accepts: the discriminated branch's own faults are what
    /// the client can act on ("auth.api_key is required"); without one, listing every branch's faults would only confuse.
    private func noneMatched(
        _ value: JSONValue,
        branches: [JSONValue],
        outcomes: [[SchemaViolation]],
        at path: String
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
                guard let allowed = allowedValues(of: property), let member = members[key] else { continue }
                if allowed.contains(member) { agrees = true } else { contradicts = true }
            }
            if agrees && !contradicts { return index }
        }
        return nil
    }

    /// The values a `const` or `enum` property admits; nil for any other property.
    private func allowedValues(of property: JSONValue) -> [JSONValue]? {
        if let constant = keyword("const", in: property) { return [constant] }
        if case .array(let options)? = keyword("enum", in: property) { return options }
        return nil
    }
}
