import Foundation

/// A `rest` integration's config, decoded once it has passed the provider's schema with its
/// defaults filled in: what the schema allows is what decodes, so nothing here guesses.
struct RestConfig: Decodable, Sendable {
    var baseURL: String
    /// Absent: the credential goes in `Authorization: Bearer …`.
    var auth: RestAuth?
    var streams: [RestStream]
    /// Absent or null: no allowance of our own, only the API's `X-RateLimit-*`/`RateLimit-*` headers and 429s.
    var rateLimit: RestRateLimit?

    enum CodingKeys: String, CodingKey {
        case baseURL = "base_url"
        case rateLimit = "rate_limit"
        case auth, streams
    }

    /// Checks `config` against the schema (the API did so already; a run must still not act on
    /// anything else), fills in the defaults, then decodes it.
    init(_ config: [String: JSONValue]) throws {
        let schema = RestProvider.descriptor.configSchema
        let violations = RestProvider.descriptor.violations(config: config)
        guard violations.isEmpty else {
            let listed = violations.prefix(3).map(\.description).joined(separator: "; ")
            throw ConnectorError(code: "invalid_config", message: listed, retryable: false)
        }
        do {
            self = try JSONSchema.applyingDefaults(.object(config), schema: schema).decoded(as: RestConfig.self)
        } catch {
            // What the schema admits but Swift cannot hold, such as an integer beyond Int.
            throw ConnectorError(code: "invalid_config", message: "\(Self.field(of: error)) cannot be read", retryable: false)
        }
    }

    /// `config.streams[0].pagination.size`: where decoding stopped, named as the schema's messages name it;
    /// just `config` when the decoder cannot say (Foundation calls a number beyond Int invalid JSON).
    private static func field(of error: any Error) -> String {
        let context: DecodingError.Context? =
            switch error as? DecodingError {
            case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .keyNotFound(_, let context)?, .dataCorrupted(let context)?:
                context
            default: nil
            }
        return (context?.codingPath ?? []).reduce("config") { path, key in
            key.intValue.map { "\(path)[\($0)]" } ?? "\(path).\(key.stringValue)"
        }
    }

    /// How many parents above it a child stream may have (the chain a read walks for parent keys).
    static let maxParentDepth = 5

    /// What the schema cannot say: a parent is another stream of the config, read whole (no cursor
    /// on a child stream), and following parents never comes back to a stream nor goes too deep.
    static func violations(_ config: [String: JSONValue]) -> [SchemaViolation] {
        guard let streams = config["streams"]?.arrayValue else { return [] }
        let names = streams.map { $0["name"]?.stringValue }
        func parent(of index: Int) -> String? { streams[index]["parent"]?["stream"]?.stringValue }
        var found: [SchemaViolation] = []
        for index in streams.indices {
            guard let target = parent(of: index) else { continue }
            let field = "config.streams[\(index)].parent.stream"
            if streams[index]["cursor_field"] != nil {
                found.append(SchemaViolation(path: "config.streams[\(index)].cursor_field", message: "must be absent on a child stream (read whole)"))
            }
            if target == names[index] {
                found.append(SchemaViolation(path: field, message: "must name another stream, not the stream itself"))
                continue
            }
            guard names.contains(target) else {
                found.append(SchemaViolation(path: field, message: "must name a stream of config.streams"))
                continue
            }
            // Up the chain: back to this stream is a cycle (one above it is reported at its own streams).
            var chain = [names[index] ?? ""]
            var next: String? = target
            while let name = next, !chain.dropFirst().contains(name) {
                if name == chain[0] {
                    found.append(SchemaViolation(path: field, message: "must not form a cycle: " + (chain + [name]).joined(separator: " → ")))
                    break
                }
                chain.append(name)
                if chain.count - 1 > maxParentDepth {
                    found.append(SchemaViolation(path: field, message: "must be at most \(maxParentDepth) parents deep"))
                    break
                }
                next = names.firstIndex(of: name).flatMap(parent(of:))
            }
        }
        return found
    }

    func stream(named name: String) -> RestStream? {
        streams.first { $0.name == name }
    }
}

/// `rate_limit`: the most requests the API takes in any second and in any minute (either may be omitted).
struct RestRateLimit: Decodable, Sendable {
    var perSecond: Int?
    var perMinute: Int?

    enum CodingKeys: String, CodingKey {
        case perSecond = "per_second"
        case perMinute = "per_minute"
    }

    var limit: RateLimit { RateLimit(perSecond: perSecond, perMinute: perMinute) }
}

/// One stream of a `rest` config: where it is, where its records sit, its key and its cursor.
struct RestStream: Decodable, Sendable {
    var name: String
    var path: String
    /// A JSON pointer to the records array; empty for a top-level array.
    var recordsPath: String
    var primaryKey: String
    /// Makes the stream incremental on this field.
    var cursorField: String?
    /// The query parameter that carries the cursor; without it the API sends everything.
    var cursorParam: String?
    /// How the first read's start is written (absent: RFC 3339).
    var cursorFormat: CursorValue.Format?
    var query: [String: String]?
    /// Absent: one request, one page.
    var pagination: RestPagination?
    /// Makes it a child stream: read under each record of another stream.
    var parent: RestParent?

    /// The member a child stream's records get: their parent's primary key.
    static let parentMember = "_parent_id"

    // Spelled out: a key strategy would rename the keys inside `query` as well.
    enum CodingKeys: String, CodingKey {
        case name, path, query, pagination, parent
        case recordsPath = "records_path"
        case primaryKey = "primary_key"
        case cursorField = "cursor_field"
        case cursorParam = "cursor_param"
        case cursorFormat = "cursor_format"
    }

    /// The configured query parameters, in a stable order.
    var fixedQuery: [(String, String)] {
        (query ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    var descriptor: StreamDescriptor {
        StreamDescriptor(
            name: name,
            syncMode: cursorField == nil ? .fullRefresh : .incremental,
            primaryKey: parent == nil ? [primaryKey] : [Self.parentMember, primaryKey],
            cursorField: cursorField
        )
    }
}

/// A child stream's parent: the stream whose records' primary keys fill `{id}` in `path`.
struct RestParent: Decodable, Sendable {
    var stream: String
    var path: String
}

/// How the credential travels, by the config's `auth.type`.
enum RestAuth: Decodable, Sendable {
    /// `none`: no credential is sent, whatever is stored.
    case unauthenticated
    case apiKeyHeader(APIKeyHeader)
    case apiKeyQuery(APIKeyQuery)
    case basic(Basic)
    /// `bearer` and `oauth2`: `Authorization: Bearer <key or token>`.
    case bearer

    struct APIKeyHeader: Decodable, Sendable {
        var header: String
        var prefix: String?
    }

    struct APIKeyQuery: Decodable, Sendable {
        var param: String
    }

    struct Basic: Decodable, Sendable {
        var username: String
    }

    init(from decoder: any Decoder) throws {
        switch try TypeTag(from: decoder).type {
        case "none": self = .unauthenticated
        case "api_key_header": self = .apiKeyHeader(try APIKeyHeader(from: decoder))
        case "api_key_query": self = .apiKeyQuery(try APIKeyQuery(from: decoder))
        case "basic": self = .basic(try Basic(from: decoder))
        case "bearer", "oauth2": self = .bearer
        case let other: throw TypeTag.unknown(other, decoder)
        }
    }

    var placement: APIKeyPlacement {
        switch self {
        case .apiKeyHeader(let auth): .header(auth.header, prefix: auth.prefix ?? "")
        case .apiKeyQuery(let auth): .query(auth.param)
        case .basic(let auth): .basic(username: auth.username)
        case .unauthenticated, .bearer: .header("Authorization", prefix: "Bearer ")
        }
    }
}

/// How the pages of a stream follow one another, by the config's `pagination.type`.
enum RestPagination: Decodable, Sendable {
    /// `none`: one request, one page.
    case singlePage
    /// The answer holds the next page's URL.
    case nextURL(NextURL)
    /// `Link: <…>; rel="next"`.
    case linkHeader
    /// The answer holds a cursor for the next request.
    case cursor(Cursor)
    case offset(Offset)
    case page(Page)

    struct NextURL: Decodable, Sendable {
        var nextURLPath: String
        enum CodingKeys: String, CodingKey {
            case nextURLPath = "next_url_path"
        }
    }

    struct Cursor: Decodable, Sendable {
        var cursorParam: String
        var nextCursorPath: String
        enum CodingKeys: String, CodingKey {
            case cursorParam = "cursor_param"
            case nextCursorPath = "next_cursor_path"
        }
    }

    struct Offset: Decodable, Sendable {
        var offsetParam: String
        var limitParam: String
        var limit: Int
        enum CodingKeys: String, CodingKey {
            case offsetParam = "offset_param"
            case limitParam = "limit_param"
            case limit
        }
    }

    struct Page: Decodable, Sendable {
        var pageParam: String
        var sizeParam: String
        var size: Int
        var startPage: Int
        enum CodingKeys: String, CodingKey {
            case pageParam = "page_param"
            case sizeParam = "size_param"
            case size
            case startPage = "start_page"
        }
    }

    init(from decoder: any Decoder) throws {
        switch try TypeTag(from: decoder).type {
        case "none": self = .singlePage
        case "next_url": self = .nextURL(try NextURL(from: decoder))
        case "link_header": self = .linkHeader
        case "cursor": self = .cursor(try Cursor(from: decoder))
        case "offset": self = .offset(try Offset(from: decoder))
        case "page": self = .page(try Page(from: decoder))
        case let other: throw TypeTag.unknown(other, decoder)
        }
    }
}

/// The `type` member that says which shape an `auth` or `pagination` object has.
private struct TypeTag: Decodable {
    var type: String

    static func unknown(_ type: String, _ decoder: any Decoder) -> DecodingError {
        DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown type \(type)"))
    }
}
