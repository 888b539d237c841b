import Foundation

/// Who did something: the admin token, a tenant's API key, or Tributary itself.
public enum ActivityActor: Sendable, Equatable {
    case admin
    case apiKey(UUID)
    case system

    /// How the activity log names the kind of actor.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case admin
        case apiKey = "api_key"
        case system
    }

    var kind: Kind {
        switch self {
        case .admin: .admin
        case .apiKey: .apiKey
        case .system: .system
        }
    }

    var id: UUID? {
        if case .apiKey(let id) = self { return id }
        return nil
    }

    init(kind: Kind?, id: UUID?) {
        switch (kind, id) {
        case (.apiKey, let id?): self = .apiKey(id)
        case (.admin, _): self = .admin
        default: self = .system
        }
    }
}

extension ActivityActor: Codable {
    /// `{"type": "api_key", "id": "…"}`: the enum as the activity log writes it.
    private struct Wire: Codable {
        var type: Kind
        @WireID var id: UUID?
    }

    public func encode(to encoder: any Encoder) throws {
        try Wire(type: kind, id: id).encode(to: encoder)
    }

    public init(from decoder: any Decoder) throws {
        let wire = try Wire(from: decoder)
        self.init(kind: wire.type, id: wire.id)
    }
}
