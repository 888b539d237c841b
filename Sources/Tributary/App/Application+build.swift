import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Prometheus

/// Builds the whole server from its configuration: main calls this, and so do the tests.
/// `runService()` runs it until SIGTERM or SIGINT.
public func buildApplication(
    config: AppConfig,
    logger: Logger,
    runWorker: Bool = false
) throws -> some ApplicationProtocol {
    let skeleton = try ProcessSkeleton(config: config, logger: logger, runWorker: runWorker)
    let services = skeleton.services
    let migrator = skeleton.migrator
    let registry = PrometheusCollectorRegistry()

    let router = buildRouter(
        services,
        migrator: migrator,
        registry: registry,
        adminToken: config.adminToken,
        maxAttempts: config.worker.maxAttempts,
        api: config.api,
        limits: config.limits,
        checker: CheckRunner(settings: config.worker, environment: config.childEnvironment, refresher: services.refresher),
        emailReadiness: config.alerting.emailReadiness
    )

    let requestTimeout = TimeAmount.seconds(Int64(config.api.requestTimeoutSeconds))
    var app = Application(
        router: router,
        // Hummingbird's idle timer restarts only when a whole request part arrives, so a head
        // trickled byte by byte is cut off too; a body trickled part by part meets the deadline.
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [RequestDeadlineHandler(timeout: requestTimeout)],
                idleTimeout: .seconds(Int64(config.api.idleTimeoutSeconds))
            )
        ),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "tributary"),
        services: skeleton.lifecycle,
        logger: logger
    )
    app.beforeServerStarts { try await skeleton.startup.ready() }
    return app
}

/// Closes a connection whose request has not arrived whole `timeout` after its head (slow POST):
/// once the request has arrived, answering it takes as long as it takes.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn
    typealias InboundOut = HTTPConnectionStateHandler.InboundIn

    let timeout: TimeAmount
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
        case .end:
            deadline?.cancel()
            deadline = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }
}
