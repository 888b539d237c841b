import Foundation

/// The records one stream of an integration loaded in one UTC day (historical runs left out).
public struct VolumeDay: Sendable, Equatable, Encodable {
    /// `2026-11-20`.
    public var date: String
    public var stream: String
    public var records: Int64
}
