import Hummingbird
import Logging
import ServiceLifecycle

/// Runs `router` on 127.0.0.1 at a free port for the length of `body`, then shuts it down.
public func withFakeServer<Result: Sendable>(
    _ router: Router<BasicRequestContext>,
    _ body: @Sendable (_ port: Int) async throws -> Result
) async throws -> Result {
    var logger = Logger(label: "fake-provider")
    logger.logLevel = .warning
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            continuation.yield(channel.localAddress?.port ?? 0)
            continuation.finish()
        },
        logger: logger
    )
    let serviceGroup = ServiceGroup(services: [app], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await serviceGroup.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await serviceGroup.triggerGracefulShutdown()
            throw FakeServerError.didNotStart
        }
        do {
            let result = try await body(port)
            await serviceGroup.triggerGracefulShutdown()
            try await group.waitForAll()
            return result
        } catch {
            await serviceGroup.triggerGracefulShutdown()
            throw error
        }
    }
}

public enum FakeServerError: Error {
    case didNotStart
}
