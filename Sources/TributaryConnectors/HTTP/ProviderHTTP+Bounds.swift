extension ProviderHTTP {
    /// Takes the tighter bounds `context` asks for (a check: one attempt, a 1 MiB answer); never
    /// looser ones than the HTTP layer's own.
    mutating func bound(by context: ConnectorContext) {
        if let attempts = context.maxAttempts { maxAttempts = min(max(1, attempts), maxAttempts) }
        if let bytes = context.maxResponseBytes { maxResponseBytes = min(max(1, bytes), maxResponseBytes) }
    }
}
