import Testing

@testable import TributaryConnectors

@Suite struct JSONSchemaTests {
    /// Violations as a client reads them, "path message", so expectations stay one line each.
    func faults(_ value: JSONValue, _ schema: JSONValue, at root: String = "config") -> [String] {
        JSONSchema.validate(value, against: schema, at: root).map(\.description)
    }

    // MARK: type

    @Test func typeAcceptsEachKind() {
        #expect(faults(nil, ["type": "null"]).isEmpty)
        #expect(faults(true, ["type": "boolean"]).isEmpty)
        #expect(faults("x", ["type": "string"]).isEmpty)
        #expect(faults(1.5, ["type": "number"]).isEmpty)
        #expect(faults(3, ["type": "number"]).isEmpty)
        #expect(faults(3, ["type": "integer"]).isEmpty)
        #expect(faults(3.0, ["type": "integer"]).isEmpty)
        #expect(faults([1], ["type": "array"]).isEmpty)
        #expect(faults(["a": 1], ["type": "object"]).isEmpty)
    }

    @Test func typeRejectsOtherKinds() {
        #expect(faults(1, ["type": "string"]) == ["config must be a string"])
        #expect(faults(3.5, ["type": "integer"]) == ["config must be an integer"])
        #expect(faults("3", ["type": "number"]) == ["config must be a number"])
        #expect(faults("true", ["type": "boolean"]) == ["config must be a boolean"])
        #expect(faults([], ["type": "object"]) == ["config must be an object"])
        #expect(faults([:], ["type": "array"]) == ["config must be an array"])
        #expect(faults(0, ["type": "null"]) == ["config must be null"])
        #expect(faults(nil, ["type": "boolean"]) == ["config must be a boolean"])
    }

    @Test func typeListAcceptsAnyAndNamesAll() {
        #expect(faults(nil, ["type": ["string", "null"]]).isEmpty)
        #expect(faults("a", ["type": ["string", "null"]]).isEmpty)
        #expect(faults(1, ["type": ["string", "null"]]) == ["config must be a string or null"])
        #expect(faults(true, ["type": ["string", "number", "null"]]) == ["config must be a string, a number or null"])
    }

    @Test func unknownTypeNameConstrainsNothing() {
        #expect(faults(1, ["type": "strnig"]).isEmpty)
        #expect(faults(1, ["type": ["strnig", "string"]]) == ["config must be a string"])
    }

    @Test func typeFailureIsReportedAlone() {
        let schema: JSONValue = ["type": "string", "minLength": 5, "enum": ["abcdef"], "pattern": "^z"]
        #expect(faults(3, schema) == ["config must be a string"])
        let object: JSONValue = ["type": "object", "required": ["a"]]
        #expect(faults("x", object) == ["config must be an object"])
    }

    // MARK: enum and const

    @Test func enumListsAllowedValues() {
        let schema: JSONValue = ["enum": ["api_key", "oauth2"]]
        #expect(faults("api_key", schema).isEmpty)
        #expect(faults("basic", schema) == ["config must be one of: api_key, oauth2"])
        #expect(faults(2.5, ["enum": [1, 2.5, nil, true]]).isEmpty)
        #expect(faults(3, ["enum": [1, 2.5, nil, true]]) == ["config must be one of: 1, 2.5, null, true"])
        #expect(faults(1.0, ["enum": [1]]).isEmpty)
        #expect(faults(["a": [1]], ["enum": [["a": [1]]]]).isEmpty)
    }

    @Test func constRequiresExactValue() {
        #expect(faults("api_key", ["const": "api_key"]).isEmpty)
        #expect(faults("oauth2", ["const": "api_key"]) == ["config must be api_key"])
        #expect(faults(2, ["const": 1]) == ["config must be 1"])
        #expect(faults(nil, ["const": false]) == ["config must be false"])
    }

    // MARK: objects

    @Test func requiredAndNestedPaths() {
        let schema: JSONValue = [
            "type": "object",
            "required": ["base_url", "auth"],
            "properties": [
                "base_url": ["type": "string"],
                "auth": [
                    "type": "object",
                    "required": ["key"],
                    "properties": ["key": ["type": "string", "minLength": 8]],
                ],
            ],
        ]
        #expect(faults(["base_url": "x", "auth": ["key": "12345678"]], schema).isEmpty)
        #expect(faults([:], schema) == ["config.auth is required", "config.base_url is required"])
        #expect(
            faults(["base_url": 1, "auth": ["key": "short"]], schema)
                == ["config.auth.key must be at least 8 characters", "config.base_url must be a string"]
        )
        #expect(faults(["base_url": "x", "auth": [:]], schema) == ["config.auth.key is required"])
    }

    @Test func requiredWithoutPropertiesAndOnNonObjects() {
        #expect(faults(["a": nil], ["required": ["a"]]).isEmpty)
        #expect(faults("not an object", ["required": ["a"]]).isEmpty)
    }

    @Test func additionalPropertiesFalse() {
        let schema: JSONValue = ["properties": ["name": ["type": "string"]], "additionalProperties": false]
        #expect(faults(["name": "n"], schema).isEmpty)
        #expect(
            faults(["name": "n", "nmae": "n", "extra": 1], schema)
                == ["config.extra is not allowed", "config.nmae is not allowed"]
        )
    }

    @Test func additionalPropertiesSchema() {
        let schema: JSONValue = ["properties": ["limit": ["type": "integer"]], "additionalProperties": ["type": "string"]]
        #expect(faults(["limit": 3, "tag": "x"], schema).isEmpty)
        #expect(faults(["limit": 3, "tag": 4], schema) == ["config.tag must be a string"])
        #expect(faults(["tag": 4], ["additionalProperties": true]).isEmpty)
    }

    // MARK: arrays

    @Test func itemsReportIndexedPaths() {
        let schema: JSONValue = [
            "type": "object",
            "properties": [
                "streams": [
                    "type": "array",
                    "items": [
                        "type": "object",
                        "required": ["path"],
                        "properties": ["path": ["type": "string", "pattern": "^/"]],
                    ],
                ]
            ],
        ]
        #expect(faults(["streams": [["path": "/a"], ["path": "/b"]]], schema).isEmpty)
        #expect(
            faults(["streams": [["path": "/a"], [:], ["path": "b"], 7]], schema) == [
                "config.streams[1].path is required",
                "config.streams[2].path must match pattern ^/",
                "config.streams[3] must be an object",
            ]
        )
        #expect(faults([1, "x"], ["items": ["type": "integer"]]) == ["config[1] must be an integer"])
        #expect(faults([1], ["items": false]) == ["config[0] is not allowed"])
    }

    @Test func itemCounts() {
        let schema: JSONValue = ["minItems": 1, "maxItems": 2]
        #expect(faults([1], schema).isEmpty)
        #expect(faults([1, 2], schema).isEmpty)
        #expect(faults([], schema) == ["config must have at least 1 item"])
        #expect(faults([1, 2, 3], schema) == ["config must have at most 2 items"])
        #expect(faults([], ["minItems": 2]) == ["config must have at least 2 items"])
        #expect(faults("not an array", schema).isEmpty)
    }

    @Test func uniqueItems() {
        #expect(faults([1, 2, "1"], ["uniqueItems": true]).isEmpty)
        #expect(faults([1, 2, 1.0], ["uniqueItems": true]) == ["config must not contain duplicate items"])
        #expect(faults([["a": 1], ["a": 1]], ["uniqueItems": true]) == ["config must not contain duplicate items"])
        #expect(faults([1, 1], ["uniqueItems": false]).isEmpty)
    }

    // MARK: strings

    @Test func lengthsCountCharacters() {
        let schema: JSONValue = ["minLength": 2, "maxLength": 3]
        #expect(faults("héé", schema).isEmpty)
        #expect(faults("👍🏽🇫🇷", schema).isEmpty)
        #expect(faults("a", schema) == ["config must be at least 2 characters"])
        #expect(faults("abcd", schema) == ["config must be at most 3 characters"])
        #expect(faults("", ["minLength": 1]) == ["config must be at least 1 character"])
        #expect(faults(.string(String(repeating: "x", count: 201)), ["maxLength": 200]) == ["config must be at most 200 characters"])
    }

    @Test func pattern() {
        #expect(faults("abc", ["pattern": "^[a-z]+$"]).isEmpty)
        #expect(faults("ab1", ["pattern": "^[a-z]+$"]) == ["config must match pattern ^[a-z]+$"])
        // Unanchored patterns match anywhere, as JSON Schema specifies.
        #expect(faults("x-123-y", ["pattern": "[0-9]{3}"]).isEmpty)
        #expect(faults("anything", ["pattern": "(["]).isEmpty)
        #expect(faults(12, ["pattern": "^[a-z]+$"]).isEmpty)
    }

    @Test func uriFormat() {
        let schema: JSONValue = ["type": "string", "format": "uri"]
        #expect(faults("https://api.example.com/v2", schema).isEmpty)
        #expect(faults("http://localhost:8080", schema).isEmpty)
        #expect(faults("HTTPS://Example.com", schema).isEmpty)
        for bad: JSONValue in ["ftp://example.com", "example.com", "http://", "/relative/path", "mailto:a@b.com", "not a url", ""] {
            #expect(faults(bad, schema) == ["config must be an http or https URL"])
        }
    }

    @Test func emailFormat() {
        let schema: JSONValue = ["format": "email"]
        #expect(faults("ops@example.com", schema).isEmpty)
        #expect(faults("first.last+tag@mail.example.co.uk", schema).isEmpty)
        for bad: JSONValue in ["ops@example", "ops example@x.com", "@example.com", "ops@@example.com", "ops@.com", "ops@example.", "opsexample.com"] {
            #expect(faults(bad, schema) == ["config must be an email address"])
        }
    }

    @Test("one email rule: the schema's email format and the API's recipients agree")
    func emailRule() {
        let schema: JSONValue = ["type": "string", "format": "email"]
        for address in ["ops@example.com", "a<b>@example.com", "ops@-example.com", "ops@example", String(repeating: "a", count: 65) + "@x.io"] {
            #expect(JSONSchema.validate(.string(address), against: schema).isEmpty == EmailAddress.isValid(address), "\(address)")
        }
        #expect(!EmailAddress.isValid("ops@example.com, cto@example.com"))
        #expect(faults("a<b>@example.com", schema) == ["config must be an email address"])
    }

    @Test func otherFormatsAndAnnotationsAreIgnored() {
        let schema: JSONValue = [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "T", "description": "D", "examples": ["x"], "format": "date-time", "multipleOfSomething": 3,
        ]
        #expect(faults("not a date", schema).isEmpty)
    }

    // MARK: numbers

    @Test func inclusiveBounds() {
        let schema: JSONValue = ["type": "integer", "minimum": 30, "maximum": 1440]
        #expect(faults(30, schema).isEmpty)
        #expect(faults(1440, schema).isEmpty)
        #expect(faults(29, schema) == ["config must be at least 30"])
        #expect(faults(1441, schema) == ["config must be at most 1440"])
        #expect(faults(0.7, ["maximum": 0.5]) == ["config must be at most 0.5"])
        #expect(faults("5", ["minimum": 30]).isEmpty)
    }

    @Test func exclusiveBounds() {
        let schema: JSONValue = ["exclusiveMinimum": 0, "exclusiveMaximum": 1]
        #expect(faults(0.5, schema).isEmpty)
        #expect(faults(0, schema) == ["config must be greater than 0"])
        #expect(faults(1, schema) == ["config must be less than 1"])
        // A draft-4 boolean there is not a bound.
        #expect(faults(0, ["minimum": 0, "exclusiveMinimum": true]).isEmpty)
    }

    // MARK: combinators

    static let authSchema: JSONValue = [
        "$defs": [
            "api_key": [
                "type": "object",
                "required": ["type", "key"],
                "properties": ["type": ["const": "api_key"], "key": ["type": "string", "minLength": 1]],
                "additionalProperties": false,
            ],
            "oauth2": [
                "type": "object",
                "required": ["type", "client_id", "client_secret"],
                "properties": [
                    "type": ["enum": ["oauth2"]],
                    "client_id": ["type": "string"],
                    "client_secret": ["type": "string"],
                    "scopes": ["type": "array", "items": ["type": "string"], "default": ["read"]],
                ],
            ],
        ],
        "type": "object",
        "properties": [
            "auth": ["oneOf": [["$ref": "#/$defs/api_key"], ["$ref": "#/$defs/oauth2"]]]
        ],
    ]

    @Test func oneOfPassesWithExactlyOneBranch() {
        #expect(faults(["auth": ["type": "api_key", "key": "k"]], Self.authSchema).isEmpty)
        #expect(faults(["auth": ["type": "oauth2", "client_id": "a", "client_secret": "b"]], Self.authSchema).isEmpty)
    }

    @Test func oneOfReportsTheDiscriminatedBranch() {
        #expect(
            faults(["auth": ["type": "oauth2", "client_id": "a"]], Self.authSchema)
                == ["config.auth.client_secret is required"]
        )
        #expect(
            faults(["auth": ["type": "api_key", "key": "", "scope": "x"]], Self.authSchema)
                == ["config.auth.key must be at least 1 character", "config.auth.scope is not allowed"]
        )
    }

    @Test func oneOfWithoutDiscriminatorMatchesNone() {
        #expect(
            faults(["auth": ["type": "basic", "user": "u"]], Self.authSchema)
                == ["config.auth matches none of the allowed shapes"]
        )
        #expect(faults(["auth": "k"], Self.authSchema) == ["config.auth matches none of the allowed shapes"])
        #expect(
            faults(true, ["oneOf": [["type": "string"], ["type": "integer"]]])
                == ["config matches none of the allowed shapes"]
        )
    }

    @Test func discriminatorIgnoresBranchesWhoseTagDisagrees() {
        // Both branches share an enum field; only the `kind` tag should choose.
        let schema: JSONValue = [
            "oneOf": [
                ["properties": ["kind": ["const": "a"], "region": ["enum": ["us", "eu"]], "x": ["type": "string"]], "required": ["x"]],
                ["properties": ["kind": ["const": "b"], "region": ["enum": ["us", "eu"]], "y": ["type": "string"]], "required": ["y"]],
            ]
        ]
        #expect(faults(["kind": "b", "region": "us"], schema) == ["config.y is required"])
    }

    @Test func oneOfRejectsAmbiguousValues() {
        let schema: JSONValue = ["oneOf": [["type": "integer"], ["type": "number"]]]
        #expect(faults(1.5, schema).isEmpty)
        #expect(faults(1, schema) == ["config matches more than one of the allowed shapes"])
    }

    @Test func anyOf() {
        let schema: JSONValue = ["anyOf": [["type": "string", "format": "uri"], ["type": "null"]]]
        #expect(faults(nil, schema).isEmpty)
        #expect(faults("https://x.io", schema).isEmpty)
        #expect(faults("x.io", schema) == ["config matches none of the allowed shapes"])
        let both: JSONValue = ["anyOf": [["type": "integer"], ["type": "number"]]]
        #expect(faults(1, both).isEmpty)
    }

    @Test func allOfCollectsEveryBranchOnce() {
        let schema: JSONValue = [
            "allOf": [
                ["type": "object", "required": ["a"]],
                ["type": "object", "required": ["a", "b"]],
            ]
        ]
        #expect(faults(["a": 1, "b": 2], schema).isEmpty)
        #expect(faults([:], schema) == ["config.a is required", "config.b is required"])
        #expect(faults(1, schema) == ["config must be an object"])
    }

    @Test func ifThenElse() {
        let schema: JSONValue = [
            "type": "object",
            "if": ["properties": ["mode": ["const": "webhook"]], "required": ["mode"]],
            "then": ["required": ["webhook_url"]],
            "else": ["required": ["poll_minutes"]],
        ]
        #expect(faults(["mode": "webhook", "webhook_url": "u"], schema).isEmpty)
        #expect(faults(["mode": "webhook"], schema) == ["config.webhook_url is required"])
        #expect(faults(["mode": "poll", "poll_minutes": 5], schema).isEmpty)
        #expect(faults([:], schema) == ["config.poll_minutes is required"])
        #expect(faults([:], ["then": ["required": ["x"]]]).isEmpty)
    }

    // MARK: $ref

    @Test func refResolvesAgainstRootDefs() {
        let schema: JSONValue = [
            "$defs": ["minutes": ["type": "integer", "minimum": 30, "maximum": 1440]],
            "properties": [
                "every": ["$ref": "#/$defs/minutes"],
                "windows": ["type": "array", "items": ["$ref": "#/$defs/minutes"]],
            ],
        ]
        #expect(faults(["every": 60, "windows": [30, 1440]], schema).isEmpty)
        #expect(
            faults(["every": 10, "windows": [30, "x", 2000]], schema) == [
                "config.every must be at least 30",
                "config.windows[1] must be an integer",
                "config.windows[2] must be at most 1440",
            ]
        )
    }

    @Test func recursiveRefs() {
        let tree: JSONValue = [
            "$defs": [
                "node": [
                    "type": "object",
                    "required": ["name"],
                    "properties": ["name": ["type": "string"], "children": ["type": "array", "items": ["$ref": "#/$defs/node"]]],
                ]
            ],
            "$ref": "#/$defs/node",
        ]
        #expect(faults(["name": "a", "children": [["name": "b", "children": [["name": "c"]]]]], tree).isEmpty)
        #expect(
            faults(["name": "a", "children": [["name": "b", "children": [["name": 3]]]]], tree)
                == ["config.children[0].children[0].name must be a string"]
        )
    }

    @Test func refCyclesAndDanglingRefsConstrainNothing() {
        #expect(faults(1, ["$ref": "#"]).isEmpty)
        #expect(faults(1, ["$defs": ["a": ["$ref": "#/$defs/b"], "b": ["$ref": "#/$defs/a"]], "$ref": "#/$defs/a"]).isEmpty)
        #expect(faults(1, ["$ref": "#/$defs/missing"]).isEmpty)
        #expect(faults(1, ["$ref": "https://example.com/schema.json"]).isEmpty)
        #expect(faults("x", ["type": "integer", "allOf": [["$ref": "#"]]]) == ["config must be an integer"])
    }

    // MARK: paths, order, boolean schemas

    @Test func rootPath() {
        #expect(JSONSchema.validate(1, against: ["type": "string"]) == [SchemaViolation(path: "", message: "must be a string")])
        #expect(
            JSONSchema.validate(1, against: ["type": "string"], at: "config")
                == [SchemaViolation(path: "config", message: "must be a string")]
        )
        #expect(JSONSchema.validate(["a": 1], against: ["properties": ["a": ["type": "string"]]]).map(\.path) == ["a"])
        #expect(JSONSchema.validate([1], against: ["items": ["type": "string"]]).map(\.path) == ["[0]"])
    }

    @Test func orderIsStable() {
        var properties: [String: JSONValue] = [:]
        for name in ["zeta", "alpha", "mid", "beta", "omega"] { properties[name] = ["type": "string"] }
        let schema: JSONValue = ["properties": .object(properties), "required": ["zeta", "alpha", "mid", "beta", "omega"]]
        let expected = [
            "config.alpha is required", "config.beta is required", "config.mid is required",
            "config.omega is required", "config.zeta is required",
        ]
        for _ in 0..<5 { #expect(faults([:], schema) == expected) }
        #expect(
            faults(["b": [1, "x", 2, "y"], "a": 1], ["properties": ["a": ["type": "string"], "b": ["items": ["type": "string"]]]])
                == ["config.a must be a string", "config.b[0] must be a string", "config.b[2] must be a string"]
        )
    }

    @Test func booleanSchemas() {
        #expect(faults(["anything": 1], true).isEmpty)
        #expect(faults(1, false) == ["config is not allowed"])
        #expect(faults(["a": 1], ["properties": ["a": false]]) == ["config.a is not allowed"])
    }

    // MARK: defaults

    static let demoSchema: JSONValue = [
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "properties": [
            "records_per_run": ["type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 100],
            "spike_multiplier": ["type": "integer", "minimum": 1, "maximum": 1000, "default": 1],
            "seed": ["type": "integer", "default": 1],
            "label": ["type": "string"],
        ],
    ]

    @Test func defaultsFillOnlyAbsentProperties() {
        #expect(
            JSONSchema.applyingDefaults([:], schema: Self.demoSchema)
                == ["records_per_run": 100, "spike_multiplier": 1, "seed": 1]
        )
        #expect(
            JSONSchema.applyingDefaults(["seed": 7, "label": nil], schema: Self.demoSchema)
                == ["records_per_run": 100, "spike_multiplier": 1, "seed": 7, "label": nil]
        )
        #expect(JSONSchema.validate(JSONSchema.applyingDefaults([:], schema: Self.demoSchema), against: Self.demoSchema).isEmpty)
    }

    @Test func defaultsLeaveNonObjectsAlone() {
        #expect(JSONSchema.applyingDefaults(nil, schema: Self.demoSchema) == nil)
        #expect(JSONSchema.applyingDefaults("x", schema: Self.demoSchema) == "x")
        #expect(JSONSchema.applyingDefaults([:], schema: true) == [:])
    }

    @Test func defaultsRecurseIntoObjectsArraysAndRefs() {
        let schema: JSONValue = [
            "$defs": [
                "retry": [
                    "type": "object",
                    "properties": ["attempts": ["type": "integer", "default": 3], "backoff": ["default": "exponential"]],
                ]
            ],
            "properties": [
                "http": [
                    "type": "object",
                    "default": [:],
                    "properties": ["timeout": ["default": 30], "retry": ["$ref": "#/$defs/retry", "default": [:]]],
                ],
                "streams": ["items": ["properties": ["enabled": ["default": true]]]],
                "no_default": ["type": "object", "properties": ["x": ["default": 1]]],
            ],
        ]
        #expect(
            JSONSchema.applyingDefaults([:], schema: schema) == [
                "http": ["timeout": 30, "retry": ["attempts": 3, "backoff": "exponential"]]
            ]
        )
        #expect(
            JSONSchema.applyingDefaults(
                ["http": ["timeout": 5, "retry": ["attempts": 0]], "streams": [["name": "a"], ["enabled": false]]],
                schema: schema
            ) == [
                "http": ["timeout": 5, "retry": ["attempts": 0, "backoff": "exponential"]],
                "streams": [["name": "a", "enabled": true], ["enabled": false]],
            ]
        )
    }

    @Test func defaultsFollowTheDiscriminatedBranch() {
        #expect(
            JSONSchema.applyingDefaults(["auth": ["type": "oauth2", "client_id": "a"]], schema: Self.authSchema)
                == ["auth": ["type": "oauth2", "client_id": "a", "scopes": ["read"]]]
        )
        #expect(
            JSONSchema.applyingDefaults(["auth": ["type": "api_key", "key": "k"]], schema: Self.authSchema)
                == ["auth": ["type": "api_key", "key": "k"]]
        )
    }

    @Test func defaultFromARefTarget() {
        let schema: JSONValue = [
            "$defs": ["interval": ["type": "integer", "default": 60]],
            "properties": ["every": ["$ref": "#/$defs/interval"]],
        ]
        #expect(JSONSchema.applyingDefaults([:], schema: schema) == ["every": 60])
    }

    // MARK: a provider-shaped schema end to end

    @Test func providerConfigEndToEnd() {
        let schema: JSONValue = [
            "type": "object",
            "required": ["base_url", "streams"],
            "additionalProperties": false,
            "properties": [
                "base_url": ["type": "string", "format": "uri"],
                "contact": ["type": "string", "format": "email"],
                "poll_minutes": ["type": "integer", "minimum": 30, "maximum": 1440, "default": 60],
                "streams": [
                    "type": "array", "minItems": 1, "uniqueItems": true,
                    "items": [
                        "type": "object", "required": ["path"],
                        "properties": ["path": ["type": "string", "pattern": "^/[a-z/]+$", "maxLength": 200]],
                    ],
                ],
            ],
        ]
        let good: JSONValue = ["base_url": "https://api.acme.io", "streams": [["path": "/contacts"]]]
        #expect(faults(JSONSchema.applyingDefaults(good, schema: schema), schema).isEmpty)
        let bad: JSONValue = [
            "base_url": "ftp://acme.io", "contact": "nobody", "poll_minutes": 10.5,
            "streams": [["path": "/ok"], ["path": "Bad"]], "colour": "red",
        ]
        #expect(
            faults(bad, schema) == [
                "config.base_url must be an http or https URL",
                "config.colour is not allowed",
                "config.contact must be an email address",
                "config.poll_minutes must be an integer",
                "config.streams[1].path must match pattern ^/[a-z/]+$",
            ]
        )
        #expect(faults(["base_url": "https://a.io", "streams": []], schema) == ["config.streams must have at least 1 item"])
    }
}
