import Foundation

/// Who did something: the admin token, a tenant's API key, or Tributary itself.
public enum Actor: Sendable, Equatable {
    case admin
    case apiKey(UUID)
    case system

    var type: String {
        switch self {
        case .admin: "admin"
        case .apiKey: "api_key"
        case .system: "system"
        }
    }

    var id: UUID? {
        if case .apiKey(let id) = self { return id }
        return nil
    }
}

extension Actor: Codable {
    enum CodingKeys: String, CodingKey { case type, id }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(id: id, forKey: .id)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(type: try container.decode(String.self, forKey: .type), id: try container.decodeIfPresent(UUID.self, forKey: .id))
    }

    init(type: String, id: UUID?) {
        switch (type, id) {
        case ("api_key", let id?): self = .apiKey(id)
        case ("admin", _): self = .admin
        default: self = .system
        }
    }
}
