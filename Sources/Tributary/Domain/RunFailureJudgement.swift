import TributaryConnectors

/// What a run's end means for its integration beyond the streak: whether the provider refused
/// the credential (a person must give a new one), and whether the runs have failed long enough
/// to pause the integration (`AlertSettings.AutoPause`). Judged with the integration's row locked.
struct RunFailureJudgement: Sendable {
    var failed: Bool
    var streak: Int
    var before: LockedIntegration
    var credentialRejected: Bool
    var pauses: Bool

    init(run: SyncRun, failed: Bool, statusAfter: IntegrationStatus, streak: Int, before: LockedIntegration, settings: AlertSettings.AutoPause) {
        self.failed = failed
        self.streak = streak
        self.before = before
        credentialRejected = failed && run.error?.code == ConnectorError.credentialRejected
        // Only a schedule is paused: a paused integration synced by hand stays as it was.
        pauses =
            failed && !credentialRejected && statusAfter.isScheduled
            && settings.isDue(streak: streak, failingFor: before.failingFor)
    }
}
