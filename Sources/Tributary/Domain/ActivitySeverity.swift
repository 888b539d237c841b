/// How much an activity entry matters, lowest first. The log filters by a level and everything
/// above it, so a dashboard can show what needs a person and leave the routine out.
public enum ActivitySeverity: String, Sendable, Codable, CaseIterable, Comparable {
    /// Routine: syncs starting and succeeding, tokens refreshed, alerts delivered.
    case low
    /// Changes to settings, pauses and resumes.
    case medium
    /// Creations and deletions, temporary failures, alerts raised.
    case high
    /// Permanent failures, reauthorization required, something disabled.
    case critical

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.rank < rhs.rank
    }

    private var rank: Int {
        Self.allCases.firstIndex(of: self) ?? 0
    }

    /// This level and the ones above it.
    var andAbove: [Self] {
        Self.allCases.filter { $0 >= self }
    }
}

extension ActivityAction {
    /// The severity an entry of this action has unless its writer says otherwise (a failure that
    /// a retry cannot mend is `critical`; see `ActivityDraft.severity`). Actions this build does
    /// not know are `high`: better shown than missed. `migrations/0013` gave the entries written
    /// before severities existed theirs by the same table.
    var defaultSeverity: ActivitySeverity {
        switch self {
        case .syncStarted, .syncSucceeded, .oauthRefreshed, .alertDelivered:
            .low
        case .tenantUpdated, .integrationUpdated, .credentialUpdated, .credentialCleared, .oauthConnected, .syncCancelled,
            .stateReset, .stateChanged, .alertSettingsUpdated, .integrationPaused:
            .medium
        case .oauthRefreshFailed, .credentialRejected, .webhookDisabled:
            .critical
        default:
            .high
        }
    }
}
