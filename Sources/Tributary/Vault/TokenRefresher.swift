import Crypto
import Foundation
import Logging
import TributaryConnectors

/// Gives connectors a usable access token: refreshed ahead of expiry, and once more when the
/// provider answers 401. One refresh per integration runs at a time across every process (a
/// refresh lease on the credential row), because refresh tokens rotate and a second refresh would
/// present a token already spent. No transaction is open during the token call: the new tokens are
/// stored in their own short transaction as soon as the provider answers, retried if that fails,
/// since once the provider has rotated the refresh token they are the only ones that work.
///
/// Child processes (run-tasks, checks) never make the token call themselves: they ask their parent
/// (`Mode.byParent`), which serves them while the child runs (`serving`). A child may die at any moment, by
/// kill -9 or at its memory limit, which a provider's answers can drive it to; had it made the call,
/// a rotated refresh token would die with it.
struct TokenRefresher: Sendable {
    let store: Store
    let flow: OAuthFlow
    let mode: Mode

    /// Where the token call is made.
    enum Mode: Sendable {
        /// In this process.
        case here
        /// In the parent process that started this one: asked for through the credential row.
        case byParent
    }

    init(store: Store, flow: OAuthFlow, mode: Mode = .here) {
        self.store = store
        self.flow = flow
        self.mode = mode
    }

    /// Refresh when less than this remains.
    static let margin: TimeInterval = 120
    /// How many times storing the new tokens is tried before they are given up for lost.
    static let writeAttempts = 8
    /// How long a refresh lease lasts: the token call (`TokenEndpoint.timeoutSeconds`), the retried
    /// write and a margin, so that a holder still alive is always done before its lease lapses and
    /// only a dead holder's lease is ever taken over.
    static let leaseSeconds = TokenEndpoint.timeoutSeconds + 15
    /// How often a process waiting for another's refresh looks again.
    static let pollInterval: Duration = .milliseconds(100)

    enum RefreshError: Error, Sendable, Equatable {
        case noCredential
        case notOAuth
        /// The provider refused the refresh token; the integration is now `reauthorization_required`.
        case reauthorizationRequired
        case unavailable(String)
    }

    /// What every refresh lease this process holds is named with.
    static func holderPrefix() -> String { "refresh:\(hostName):\(getpid()):" }
    private static let hostName = ProcessInfo.processInfo.hostName

    /// How a rejected access token is named outside the vault.
    static func digest(_ token: String) -> Data { Data(SHA256.hash(data: Data(token.utf8))) }

    /// The access token to use now. `rejected` is a token the provider just answered 401 to:
    /// it is refreshed unless another process already replaced it.
    func accessToken(integrationID: UUID, rejected: String? = nil) async throws -> String {
        switch mode {
        case .here: try await refreshedHere(integrationID: integrationID, rejected: rejected.map(Self.digest))
        case .byParent: try await refreshedByParent(integrationID: integrationID, rejected: rejected.map(Self.digest))
        }
    }

    /// Runs `watch` (which decides when a child process of this one is to stop), making the token
    /// refreshes that child asks for (`Mode.byParent`) on `integrationID` meanwhile. Once `watch`
    /// returns, no new refresh is begun; one under way is finished first, since its answer may hold
    /// the only live refresh token.
    func serving<Stop: Sendable>(integrationID: UUID, _ watch: () async -> Stop) async -> Stop {
        let serving = Task { await serveRequests(integrationID: integrationID) }
        let stop = await watch()
        serving.cancel()
        await serving.value
        return stop
    }

    /// Serves refresh requests on `integrationID` until cancelled. Asked of every integration, whatever
    /// its credential: one may be connected through OAuth while a run of it is under way.
    private func serveRequests(integrationID: UUID) async {
        guard mode == .here else { return }
        while !Task.isCancelled {
            do {
                if let request = try await store.pendingRefresh(integrationID: integrationID) {
                    // Not cancelled with this loop: its answer must be stored, and the child told, whatever
                    // happens here.
                    try await Task {
                        _ = try? await refreshedHere(integrationID: integrationID, rejected: request.rejected)
                        try await store.refreshServed(integrationID: integrationID, through: request.number)
                    }.value
                }
            } catch  where !Task.isCancelled {
                flow.logger.warning(
                    "could not serve a token refresh request",
                    metadata: log(integrationID).merging(["error": "\(error)"]) { _, new in new }
                )
            } catch {}
            try? await Task.sleep(for: Self.pollInterval * 2)
        }
    }

    /// Asks the parent process for a refresh and waits until it has made it (or tried). The request
    /// names the token to replace (the one answered 401 to, or the one found due), so the parent
    /// refreshes unless that token was replaced meanwhile, whatever its own clock says.
    private func refreshedByParent(integrationID: UUID, rejected: Data?) async throws -> String {
        var before = try await oauthTokens(integrationID: integrationID)
        if !needsRefresh(before.tokens, expiresAt: before.expiresAt, rejected: rejected) { return before.tokens.accessToken }
        // Twice at most: a request served in the moment another child named an older token is asked again.
        for _ in 0..<2 {
            guard let number = try await store.requestRefresh(integrationID: integrationID, rejected: Self.digest(before.tokens.accessToken))
            else { throw RefreshError.noCredential }
            // The parent may first wait out another process's lease, then make its own call.
            let deadline = ContinuousClock.now + .seconds(2 * Self.leaseSeconds + 10)
            while try await store.servedRefreshes(integrationID: integrationID) ?? .max < number {
                guard ContinuousClock.now < deadline else {
                    throw RefreshError.unavailable("the worker did not refresh this integration's token in time")
                }
                try await Task.sleep(for: Self.pollInterval)
            }
            let after = try await oauthTokens(integrationID: integrationID)
            if after.tokens.accessToken != before.tokens.accessToken { return after.tokens.accessToken }
            if try await store.integrationByID(integrationID)?.status == .reauthorizationRequired { throw RefreshError.reauthorizationRequired }
            before = after
        }
        throw RefreshError.unavailable("the worker could not refresh this integration's token")
    }

    private func oauthTokens(integrationID: UUID) async throws -> (tokens: OAuthTokens, expiresAt: Date?) {
        guard let stored = try await store.storedCredential(integrationID: integrationID) else { throw RefreshError.noCredential }
        guard case .oauth2(let tokens) = try flow.vault.open(stored) else { throw RefreshError.notOAuth }
        return (tokens, stored.expiresAt)
    }

    /// Refreshes in this process, under the integration's refresh lease.
    private func refreshedHere(integrationID: UUID, rejected: Data?) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(Self.leaseSeconds + 5)
        while true {
            let (tokens, expiresAt) = try await oauthTokens(integrationID: integrationID)
            if !needsRefresh(tokens, expiresAt: expiresAt, rejected: rejected) { return tokens.accessToken }
            let holder = Self.holderPrefix() + UUID().uuidString.prefix(8).lowercased()
            if let claimed = try await store.claimRefresh(integrationID: integrationID, holder: holder, seconds: Self.leaseSeconds) {
                // Awaited, but not cancelled with its caller (a stopped stream, a gone supervisor): once the
                // refresh token is presented, the provider may have spent it, and its successor must be stored.
                return try await Task { try await refresh(claimed, holder: holder, rejected: rejected) }.value
            }
            // Another process is refreshing: the tokens it stores will do. Its lease bounds the wait.
            guard ContinuousClock.now < deadline else {
                throw RefreshError.unavailable("another refresh of this integration's token did not finish")
            }
            try await Task.sleep(for: Self.pollInterval)
        }
    }

    /// `expiresAt` is the credential row's: the one place expiry is kept in the clear.
    private func needsRefresh(_ tokens: OAuthTokens, expiresAt: Date?, rejected: Data?) -> Bool {
        if let rejected { return Self.digest(tokens.accessToken) == rejected }
        guard let expiresAt else { return false }
        return expiresAt.timeIntervalSinceNow < Self.margin
    }

    /// Refreshes `stored`, whose lease `holder` holds, and gives the lease back however it ends.
    private func refresh(_ stored: StoredCredential, holder: String, rejected: Data?) async throws -> String {
        let integrationID = stored.integrationID
        do {
            guard case .oauth2(let tokens) = try flow.vault.open(stored) else { throw RefreshError.notOAuth }
            // Whoever held the lease before us may have refreshed already.
            if !needsRefresh(tokens, expiresAt: stored.expiresAt, rejected: rejected) {
                try? await store.releaseRefresh(integrationID: integrationID, holder: holder)
                return tokens.accessToken
            }
            let integration = try await store.integrationByID(integrationID)
            var app: StoredOAuthApp?
            if let integration { app = try await store.oauthApp(provider: integration.provider) }
            guard let refreshToken = tokens.refreshToken, let integration, let app else {
                try await store.refusedRefresh(
                    tenantID: stored.tenantID,
                    integrationID: integrationID,
                    holder: holder,
                    reason: "no refresh token or OAuth app"
                )
                throw RefreshError.reauthorizationRequired
            }
            let client = try flow.clientConfig(app)
            let refreshed: Result<OAuthTokens, TokenEndpointError>
            do throws(TokenEndpointError) {
                refreshed = .success(try await flow.tokenEndpoint.refresh(refreshToken: refreshToken, client: client))
            } catch {
                refreshed = .failure(error)
            }
            switch refreshed {
            case .success(let fresh):
                try await persist(fresh, replacing: stored, integration: integration, holder: holder)
                return fresh.accessToken
            case .failure(.invalidGrant(let description)):
                return try await refused(stored, spent: refreshToken, holder: holder, description: description)
            case .failure(.rejected(let code, _)):
                throw RefreshError.unavailable("the token endpoint refused the refresh: \(code)")
            case .failure(.unavailable(let reason)):
                throw RefreshError.unavailable(reason)
            }
        } catch {
            // Released already when the refresh got as far as a verdict; otherwise released here (or it lapses).
            try? await store.releaseRefresh(integrationID: integrationID, holder: holder)
            throw error
        }
    }

    /// Stores the tokens the provider just answered with, and the activity entry, in their own short
    /// transaction, retried (bounded, with backoff) while the failure may pass.
    private func persist(_ fresh: OAuthTokens, replacing stored: StoredCredential, integration: Integration, holder: String) async throws {
        let integrationID = stored.integrationID
        // The new tokens keep the binding of those they replace (one sealed before bindings, the config's).
        let binding = stored.binding ?? CredentialBinding(config: integration.config)
        let sealed = try flow.vault.seal(.oauth2(fresh), tenantID: stored.tenantID, integrationID: integrationID, binding: binding)
        let activity = ActivityDraft(
            tenantID: stored.tenantID,
            actor: .system,
            action: .oauthRefreshed,
            integrationID: integrationID,
            details: ["expires_at": fresh.expiresAt.map { .string(Timestamps.format($0)) } ?? .null]
        )
        var delay = Duration.milliseconds(100)
        for attempt in 1... {
            do {
                if try await store.storeRefreshedTokens(integrationID: integrationID, holder: holder, sealed, activity: activity) { return }
                // The lease is no longer ours: an earlier attempt committed unheard, or the credential was given anew.
                if try await storedAccessToken(integrationID: integrationID) != fresh.accessToken {
                    flow.logger.warning("refreshed tokens not stored: the credential was replaced meanwhile", metadata: log(integrationID))
                }
                return
            } catch let error as StoreError where error.mayPassOnRetry && attempt < Self.writeAttempts {
                flow.logger.warning(
                    "could not store refreshed tokens; retrying",
                    metadata: log(integrationID).merging(["attempt": "\(attempt)", "error": "\(error)"]) { _, new in new }
                )
                try? await Task.sleep(for: delay + .milliseconds(Int.random(in: 0...50)))
                delay = min(delay * 2, .seconds(2))
            } catch {
                flow.logger.error(
                    "refreshed tokens could not be stored; the integration will need reconnecting",
                    metadata: log(integrationID).merging(["attempts": "\(attempt)", "error": "\(error)"]) { _, new in new }
                )
                throw error
            }
        }
        // Not reached: the loop returns or throws.
        throw RefreshError.unavailable("the refreshed tokens could not be stored")
    }

    /// The provider said `invalid_grant`. Unless someone else stored newer tokens meanwhile (then those
    /// are used), the integration needs a person to reconnect it.
    private func refused(_ stored: StoredCredential, spent: String, holder: String, description: String) async throws -> String {
        let integrationID = stored.integrationID
        if let now = try await store.storedCredential(integrationID: integrationID),
            case .oauth2(let tokens) = try flow.vault.open(now), tokens.refreshToken != spent
        {
            try? await store.releaseRefresh(integrationID: integrationID, holder: holder)
            return tokens.accessToken
        }
        flow.logger.warning("refresh token refused", metadata: log(integrationID))
        try await store.refusedRefresh(
            tenantID: stored.tenantID,
            integrationID: integrationID,
            holder: holder,
            reason: "invalid_grant" + (description.isEmpty ? "" : ": \(description)")
        )
        throw RefreshError.reauthorizationRequired
    }

    private func storedAccessToken(integrationID: UUID) async throws -> String? {
        guard let stored = try await store.storedCredential(integrationID: integrationID),
            case .oauth2(let tokens) = try flow.vault.open(stored)
        else { return nil }
        return tokens.accessToken
    }

    private func log(_ integrationID: UUID) -> Logger.Metadata {
        ["integration_id": "\(integrationID.lowercased)"]
    }
}

extension StoreError {
    /// A failure the same write may get past if tried again: a lost connection, a deadlock.
    var mayPassOnRetry: Bool {
        switch self {
        case .transient, .unavailable: true
        case .conflict, .missingReference, .invalidInput, .failed: false
        }
    }
}
