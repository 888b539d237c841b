import Foundation
import Hummingbird
import TributaryConnectors

/// `…/integrations/{integration_id}/syncs`, `/state` and `/check`: running syncs and their checkpoints.
struct SyncsController {
    let store: Store
    let catalog: ProviderCatalog
    /// Runs each check in its own child process.
    let checker: CheckRunner
    let maxAttempts: Int

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .post("syncs", use: start).get("syncs", use: list).get("syncs/:run_id", use: show)
            .post("syncs/:run_id/cancel", use: cancel).post("check", use: check).get("state", use: state)
            .delete("state", use: resetState).put("state/:stream", use: setPosition)
    }

    struct StartBody: Decodable {
        var streams: [String]?
        var fullResync: Bool?
    }

    @Sendable func start(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<SyncRun> {
        let integration = try await context.integration(in: store)
        let hasBody = (request.headers[.contentLength].flatMap(Int.init) ?? 0) > 0 || request.headers[.transferEncoding] != nil
        let body = hasBody ? try await request.decodeJSON(as: StartBody.self, context: context) : StartBody()
        guard let provider = catalog.provider(id: integration.provider) else { throw APIError.notFound("no such integration") }
        var validator = Validator()
        var streams = integration.streams
        if let requested = body.streams {
            if let valid = validator.streams(requested, provider: provider, config: integration.config) {
                for (index, name) in valid.enumerated() where !integration.streams.contains(name) {
                    validator.fail("streams[\(index)]", "is not one of the integration's streams: \(integration.streams.joined(separator: ", "))")
                }
                streams = valid
            }
        }
        try validator.check()
        try integration.status.checkManualSync()
        switch try await store.enqueueRun(
            integration: integration,
            trigger: .manual,
            streams: streams,
            fullResync: body.fullResync ?? false,
            maxAttempts: maxAttempts,
            actor: context.caller.actor
        )
        {
        case .success(let run):
            let path = "/v1/tenants/\(integration.tenantID.lowercased)/integrations/\(integration.id.lowercased)/syncs/\(run.id.lowercased)"
            return JSONResponse(run, status: .accepted, headers: [.location: path])
        case .failure(let active):
            throw APIError.conflict(
                "a run is already queued or running for this integration",
                extensions: ["run_id": active.runID.map { .string($0.lowercased) } ?? .null]
            )
        }
    }

    @Sendable func list(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<ListBody<SyncRun>> {
        let integration = try await context.integration(in: store)
        let query = try ListQuery(request)
        return JSONResponse(
            ListBody(
                try await store.runs(tenantID: integration.tenantID, integrationID: integration.id, after: try query.timeKeyset(), limit: query.limit)
            )
        )
    }

    @Sendable func show(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<SyncRun> {
        let integration = try await context.integration(in: store)
        let runID = try context.uuidParameter("run_id", "run")
        guard let run = try await store.run(tenantID: integration.tenantID, integrationID: integration.id, runID: runID) else {
            throw APIError.notFound("no such run")
        }
        return JSONResponse(run)
    }

    @Sendable func cancel(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<SyncRun> {
        let integration = try await context.integration(in: store)
        let runID = try context.uuidParameter("run_id", "run")
        guard
            let run = try await store.cancelRun(
                tenantID: integration.tenantID,
                integrationID: integration.id,
                runID: runID,
                actor: context.caller.actor
            )
        else { throw APIError.notFound("no such run") }
        if run.status.isFinished && run.status != .cancelled {
            throw APIError.conflict("the run already ended: \(run.status.rawValue)")
        }
        return JSONResponse(run, status: .accepted)
    }

    /// `{"ok": true}`, or `{"ok": false, "error": {…}}`.
    struct CheckResult: Encodable, Sendable {
        var ok: Bool
        var error: RunError?
    }

    /// One real call to the provider: does the credential (and config) work? In a child process with
    /// a wall-clock limit: a check that crashes or hangs answers `check_crashed` or `check_timeout`.
    @Sendable func check(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<CheckResult> {
        let integration = try await context.integration(in: store)
        switch await checker.check(integration, logger: context.logger) {
        case .finished(let report):
            return JSONResponse(CheckResult(ok: report.ok, error: report.error))
        case .busy:
            throw APIError.unavailable("too many checks are running; try again in a moment")
        case .unavailable:
            throw APIError.unavailable("the check process could not start")
        }
    }

    /// `{"streams": {"<stream>": {"cursor": …, "updated_at": …}}}`.
    struct StateBody: Encodable, Sendable {
        var streams: [String: Entry]

        struct Entry: Encodable, Sendable {
            @Nullable var cursor: JSONValue?
            var updatedAt: Date
        }

        init(states: [StreamState]) {
            streams = Dictionary(states.map { ($0.stream, Entry(cursor: $0.cursor, updatedAt: $0.updatedAt)) }, uniquingKeysWith: { _, last in last })
        }
    }

    @Sendable func state(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<StateBody> {
        let integration = try await context.integration(in: store)
        return JSONResponse(StateBody(states: try await store.states(integrationID: integration.id)))
    }

    @Sendable func resetState(_ request: Request, context: AuthenticatedContext) async throws -> Response {
        let integration = try await context.integration(in: store)
        let stream = try integration.streamParameter(request)
        let result = try await store.resetState(
            tenantID: integration.tenantID,
            integrationID: integration.id,
            stream: stream,
            actor: context.caller.actor
        )
        if case .failure(let active) = result {
            throw APIError.conflict(
                "a run is queued or running; cancel it or wait before resetting state",
                extensions: ["run_id": active.runID.map { .string($0.lowercased) } ?? .null]
            )
        }
        return Response(status: .noContent)
    }

    struct PositionBody: Decodable {
        var cursor: JSONValue?
    }

    /// One stream's checkpoint, as `GET …/state` shows each.
    struct StreamStateBody: Encodable, Sendable {
        var stream: String
        @Nullable var cursor: JSONValue?
        var updatedAt: Date
    }

    /// Sets where the stream's next read starts: the provider says what a position is for that
    /// stream, and what checkpoint it stands for.
    @Sendable func setPosition(_ request: Request, context: AuthenticatedContext) async throws -> JSONResponse<StreamStateBody> {
        let integration = try await context.integration(in: store)
        let stream = context.parameters.get("stream") ?? ""
        guard integration.streams.contains(stream) else { throw APIError.notFound("the integration has no stream \(stream)") }
        let body = try await request.decodeJSON(as: PositionBody.self, context: context)
        guard let position = body.cursor, position != .null else {
            throw APIError.validation([FieldError(field: "cursor", message: "is required (to forget a position, DELETE …/state?stream=)")])
        }
        let cursor: JSONValue
        do {
            cursor = try catalog.checkpoint(provider: integration.provider, at: position, stream: stream, config: integration.config)
        } catch {
            throw APIError.validation([FieldError(field: "cursor", message: error.reason)])
        }
        let result = try await store.setStreamPosition(
            tenantID: integration.tenantID,
            integrationID: integration.id,
            stream: stream,
            cursor: cursor,
            actor: context.caller.actor
        )
        switch result {
        case .success(let state):
            return JSONResponse(StreamStateBody(stream: state.stream, cursor: state.cursor, updatedAt: state.updatedAt))
        case .failure(let active):
            throw APIError.conflict(
                "a run is queued or running; cancel it or wait before setting a position",
                extensions: ["run_id": active.runID.map { .string($0.lowercased) } ?? .null]
            )
        }
    }
}
