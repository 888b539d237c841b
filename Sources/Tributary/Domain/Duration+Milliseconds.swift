extension Duration {
    /// The whole milliseconds of this duration, for SQL intervals and log lines.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
