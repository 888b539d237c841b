import PostgresNIO

/// What can go wrong in the Store, in words the API can turn into an answer.
public enum StoreError: Error, Sendable {
    /// A unique or exclusion constraint refused the write.
    case conflict(constraint: String?)
    /// A referenced row does not exist (a foreign key refused the write).
    case missingReference(constraint: String?)
    /// A value Postgres cannot store or read (a NUL character, a timestamp out of range).
    case invalidInput(String)
    /// A deadlock or serialization failure: the same request may pass if tried again.
    case transient(String)
    /// Postgres refused a statement for another reason: a defect of ours, not the client's.
    case failed(String)
    /// Postgres could not be reached.
    case unavailable(String)

    static func from(_ error: PSQLError) -> StoreError {
        if let sqlState = error.serverInfo?[.sqlState] {
            let constraint = error.serverInfo?[.constraintName]
            switch sqlState {
            case "23505", "23P01": return .conflict(constraint: constraint)
            case "23503": return .missingReference(constraint: constraint)
            case "40P01", "40001": return .transient(error.serverInfo?[.message] ?? sqlState)
            // The connection went (an administrator's or a shutdown's termination, a connection failure, too many clients).
            case let state where state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state):
                return .unavailable("Postgres \(sqlState)")
            case let state where state.hasPrefix("22"): return .invalidInput(error.serverInfo?[.message] ?? sqlState)
            default:
                let message = error.serverInfo?[.message] ?? "error"
                return .failed("Postgres \(sqlState): \(message)")
            }
        }
        return .unavailable("Postgres: \(error.code)")
    }

    /// The error that stopped a piece of Store work, as callers should see it: the closure's own
    /// error out of a `PostgresTransactionError` (the caller wants what stopped the work, not the
    /// wrapper), and any `PSQLError` as a `StoreError`. The one place that unwraps them.
    static func unwrapping(_ error: any Error) -> any Error {
        switch error {
        case let error as PostgresTransactionError:
            if let closureError = error.closureError { return unwrapping(closureError) }
            if let beginError = error.beginError { return unwrapping(beginError) }
            if let commitError = error.commitError { return unwrapping(commitError) }
            if let rollbackError = error.rollbackError { return unwrapping(rollbackError) }
            return StoreError.failed("transaction failed")
        case let error as PSQLError:
            return from(error)
        default:
            return error
        }
    }
}
