import Foundation
import Hummingbird

/// `?limit=` and `?cursor=` of a list endpoint, checked.
struct ListQuery: Sendable {
    var limit: Int
    var after: PageKey?

    static let defaultLimit = 50
    static let maxLimit = 200

    init(_ request: Request) throws(APIError) {
        let query = request.uri.queryParameters
        if let text = query["limit"].map(String.init) {
            guard let limit = Int(text), (1...Self.maxLimit).contains(limit) else {
                throw APIError.badQuery(field: "limit", "must be a whole number from 1 to \(Self.maxLimit)")
            }
            self.limit = limit
        } else {
            self.limit = Self.defaultLimit
        }
        if let text = query["cursor"].map(String.init), !text.isEmpty {
            guard let next = PageCursor.decode(text) else {
                throw APIError.badQuery(field: "cursor", "is not a cursor this API gave out")
            }
            self.after = next
        }
    }

    /// The cursor as a time keyset; a sequence cursor here is a cursor from another list.
    func timeKeyset() throws(APIError) -> TimeKeyset? {
        switch after {
        case nil: return nil
        case .time(let keyset): return keyset
        case .sequence: throw APIError.badRequest("cursor belongs to another list")
        }
    }

    func sequence() throws(APIError) -> Int64? {
        switch after {
        case nil: return nil
        case .sequence(let value): return value
        case .time: throw APIError.badRequest("cursor belongs to another list")
        }
    }
}

/// Opaque cursors: base64url of a short tagged string, so clients treat them as tokens.
enum PageCursor {
    static func encode(_ next: PageKey) -> String {
        let plain: String
        switch next {
        case .time(let keyset): plain = "t:\(keyset.micros):\(keyset.id.lowercased)"
        case .sequence(let value): plain = "s:\(value)"
        }
        return Data(plain.utf8).base64URLEncodedString()
    }

    static func decode(_ text: String) -> PageKey? {
        guard text.count <= 200 else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let plain = String(data: data, encoding: .utf8) else { return nil }
        let parts = plain.split(separator: ":", omittingEmptySubsequences: false)
        switch (parts.first, parts.count) {
        case ("t", 3):
            // Keyset times come from rows: between 1970 and 9999, or the cursor was not ours.
            guard let micros = Int64(parts[1]), (0...253_402_300_799_000_000).contains(micros),
                let id = UUID(uuidString: String(parts[2]))
            else { return nil }
            return .time(TimeKeyset(micros: micros, id: id))
        case ("s", 2):
            guard let value = Int64(parts[1]), value >= 0 else { return nil }
            return .sequence(value)
        default:
            return nil
        }
    }
}

/// `{"data":[…],"next_cursor":…}`.
struct ListBody<Item: Encodable & Sendable>: Encodable, Sendable {
    var data: [Item]
    @Nullable var nextCursor: String?

    init(_ page: Page<Item>) {
        self.data = page.items
        self.nextCursor = page.next.map(PageCursor.encode)
    }
}
