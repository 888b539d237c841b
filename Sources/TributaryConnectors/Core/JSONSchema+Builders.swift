/// Builders for the config schemas providers write: a property reads as one call, and the frame
/// of a closed object is written once. Each leaves out the keywords it is not given.
extension JSONSchema {
    /// A config schema: a closed object under JSON Schema 2020-12, with shared shapes in `defs`.
    public static func document(
        required: [String] = [],
        defs: [String: JSONValue] = [:],
        _ properties: [String: JSONValue]
    ) -> JSONValue {
        var schema = closedObjectKeywords(required: required, properties)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        if !defs.isEmpty { schema["$defs"] = .object(defs) }
        return .object(schema)
    }

    /// An object that allows no member beyond `properties`.
    public static func closedObject(required: [String] = [], _ properties: [String: JSONValue]) -> JSONValue {
        .object(closedObjectKeywords(required: required, properties))
    }

    /// One shape of a `oneOf` told apart by its `type` member, which must be `tag`.
    public static func tagged(_ tag: String, required: [String] = [], _ properties: [String: JSONValue] = [:]) -> JSONValue {
        closedObject(required: ["type"] + required, properties.merging(["type": ["const": .string(tag)]]) { _, tag in tag })
    }

    public static func integer(
        minimum: Int? = nil,
        maximum: Int? = nil,
        default value: Int? = nil,
        _ description: String? = nil
    ) -> JSONValue {
        let number = { (bound: Int?) in bound.map { JSONValue.number(Double($0)) } }
        return annotated(["type": "integer", "minimum": number(minimum), "maximum": number(maximum), "default": number(value)], description)
    }

    public static func string(
        minLength: Int? = nil,
        pattern: String? = nil,
        format: String? = nil,
        default value: String? = nil,
        _ description: String? = nil
    ) -> JSONValue {
        let length = minLength.map { JSONValue.number(Double($0)) }
        let text = { (keyword: String?) in keyword.map(JSONValue.string) }
        return annotated(
            ["type": "string", "minLength": length, "pattern": text(pattern), "format": text(format), "default": text(value)],
            description
        )
    }

    private static func annotated(_ keywords: [String: JSONValue?], _ description: String?) -> JSONValue {
        var schema = keywords.compactMapValues { $0 }
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }

    private static func closedObjectKeywords(required: [String], _ properties: [String: JSONValue]) -> [String: JSONValue] {
        var schema: [String: JSONValue] = ["type": "object", "additionalProperties": false, "properties": .object(properties)]
        if !required.isEmpty { schema["required"] = .array(required.map(JSONValue.string)) }
        return schema
    }
}

extension JSONValue {
    /// An object with `keywords` added (replacing any of the same name); any other value as it is.
    public func merging(_ keywords: [String: JSONValue]) -> JSONValue {
        guard case .object(let members) = self else { return self }
        return .object(members.merging(keywords) { _, new in new })
    }
}
