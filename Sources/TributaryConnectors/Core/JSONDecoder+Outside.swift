import Foundation

extension JSONDecoder {
    /// Decodes JSON that came from outside (a provider, a tenant). Foundation's decoder traps —
    /// it does not throw — on a document that ends right after its 513th unclosed `[` or `{`
    /// (`"[" × 513`: the depth limit reports a position one past the end, and computing the error's
    /// line and column then reads beyond the buffer). A trailing newline, which JSON allows, keeps
    /// that position inside the data; every other document decodes exactly as before.
    public func decode<T: Decodable>(_ type: T.Type, fromOutside data: Data) throws -> T {
        var padded = data
        padded.append(0x0A)
        return try decode(type, from: padded)
    }
}
