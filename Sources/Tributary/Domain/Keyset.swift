import Foundation

/// Where a newest-first page ended: the last row's creation time (microseconds since 1970,
/// exact, as Postgres keeps it) and id, which breaks ties.
public struct TimeKeyset: Sendable, Equatable {
    public var micros: Int64
    public var id: UUID
}

/// Where the next page starts: after a (time, id) pair, or below a sequence number.
public enum PageKey: Sendable, Equatable {
    case time(TimeKeyset)
    case sequence(Int64)
}

/// A page of rows and the key after its last row, if more rows follow.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var next: PageKey?
}
