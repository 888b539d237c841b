import Hummingbird
import Logging
import Prometheus

/// `/healthz`, `/readyz` and `/metrics`: for load balancers and Prometheus, without auth.
struct HealthController {
    let migrator: Migrator
    let registry: PrometheusCollectorRegistry
    /// How alert emails leave (or that they wait in the outbox), for operators reading `/readyz`.
    let email: String

    var endpoints: RouteCollection<AppRequestContext> {
        RouteCollection(context: AppRequestContext.self)
            .get("healthz", use: healthz).get("readyz", use: readyz).get("metrics", use: metrics)
    }

    struct Status: Encodable, Sendable {
        var status: String
        var email: String?
    }

    @Sendable func healthz(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Status> {
        JSONResponse(Status(status: "ok", email: nil))
    }

    @Sendable func readyz(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Status> {
        let pending: [Int]
        do {
            pending = try await migrator.pendingVersions()
        } catch {
            context.logger.warning("readiness check: database unreachable", metadata: ["error": "\(String(reflecting: error))"])
            throw APIError.notReady("the database does not answer")
        }
        guard pending.isEmpty else {
            throw APIError.notReady("migrations not applied yet: \(pending.map(String.init).joined(separator: ", "))")
        }
        return JSONResponse(Status(status: "ready", email: email))
    }

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
        )
    }
}
