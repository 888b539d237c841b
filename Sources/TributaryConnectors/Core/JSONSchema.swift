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
        let found = SchemaEvaluator(root: schema).violations(of: value.numbersAsDoubles, against: schema, at: root, refs: [])
        // allOf branches and $ref targets often restate a constraint; the client should read each fault once.
        var seen = Set<SchemaViolation>()
        return found.filter { seen.insert($0).inserted }
    }

    /// `value` with the schema's `default`s filled in for absent object properties (recursively, only where the schema gives "default").
    ///
    /// Only objects gain members, so a missing config should be passed as an empty object, not null.
    public static func applyingDefaults(_ value: JSONValue, schema: JSONValue) -> JSONValue {
        SchemaEvaluator(root: schema).fillingDefaults(value, schema: schema, refs: [])
    }
}
