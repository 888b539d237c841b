/// How an integration's status moves, and when the scheduler next queues it: the one home of
/// these rules. The Store applies them inside the transaction that locks the integration row,
/// so a change and the status it was judged against stand together.
extension IntegrationStatus {
    /// Integrations whose runs fail this many times in a row are marked `failing`.
    static let failingAfter = 3

    /// The statuses the scheduler queues runs for.
    static let scheduled: [IntegrationStatus] = [.active, .failing]

    var isScheduled: Bool { Self.scheduled.contains(self) }

    /// Waiting for a person to give, or renew, a credential.
    var needsCredential: Bool { self == .pendingAuthorization || self == .reauthorizationRequired }

    /// A sync asked for by hand: a paused integration may still be synced on demand, one
    /// without a working credential may not.
    func checkManualSync() throws(IntegrationTransitionError) {
        guard isScheduled || self == .paused else { throw .needsCredential(self, toDo: "syncing") }
    }

    /// The status a client asks for (`active` or `paused`), from this one.
    func requesting(_ requested: IntegrationStatus) throws(IntegrationTransitionError) -> IntegrationStatus {
        if requested == .active && needsCredential { throw .needsCredential(self, toDo: "activating it") }
        return requested
    }

    /// A new API key is a fresh start for an integration that could not authenticate.
    var afterNewAPIKey: IntegrationStatus {
        needsCredential || self == .failing ? .active : self
    }

    /// The credential was dropped (the config moved where it would be sent): a new one is needed.
    var afterCredentialCleared: IntegrationStatus { .pendingAuthorization }

    /// A completed OAuth authorization connects the integration; a paused one stays paused.
    var afterOAuthConnected: IntegrationStatus {
        self == .paused ? .paused : .active
    }

    /// The provider refused the refresh token: a person must reconnect.
    var afterRefusedRefresh: IntegrationStatus { .reauthorizationRequired }

    /// A run's provider refused its credential (a revoked key answers 401 or 403): retrying it on
    /// schedule helps nobody, and can get the account blocked.
    var afterRejectedCredential: IntegrationStatus { .reauthorizationRequired }

    /// A successful run ends a failure streak.
    var afterSuccessfulRun: IntegrationStatus {
        self == .failing ? .active : self
    }

    /// A run failed for good; `consecutiveFailures` counts it.
    func afterFailedRun(consecutiveFailures: Int) -> IntegrationStatus {
        self == .active && consecutiveFailures >= Self.failingAfter ? .failing : self
    }

    /// An integration in this status has stopped syncing on schedule: the first run to succeed
    /// after it covers a longer window than usual, so the volume alerts neither judge it nor
    /// take it as a baseline (`VolumeRules`).
    var breaksVolumeWindow: Bool {
        self != .active
    }

    /// When the next run is due after a person (or the vault) moved the status from `self` to `new`.
    func nextSync(changingTo new: IntegrationStatus) -> NextSync {
        guard new != self else { return .keep }
        return new.isScheduled ? .now : .clear
    }

    /// When a new integration in this status is first due (an active one is also queued at once).
    var nextSyncWhenCreated: NextSync {
        isScheduled ? .now : .clear
    }

    /// When the next run is due after a run of an integration in this status ended.
    var nextSyncAfterRun: NextSync {
        isScheduled ? .afterInterval : .keep
    }
}

/// When the scheduler should next queue an integration.
enum NextSync: Sendable, Equatable {
    case keep
    case clear
    case now
    case afterInterval
}

/// A status change the integration's current status does not allow.
enum IntegrationTransitionError: Error, Sendable, Equatable {
    case needsCredential(IntegrationStatus, toDo: String)

    var message: String {
        switch self {
        case .needsCredential(let status, let toDo): "the integration is \(status.rawValue): connect it before \(toDo)"
        }
    }
}
