import Fakes
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One request a `WebhookReceiver` got.
struct ReceivedWebhook: Sendable {
    var method: String
    var path: String
    /// Lowercased names; a header sent twice has its values joined with ", ".
    var headers: [String: String]
    var body: [UInt8]
}

/// How a `WebhookReceiver` answers one request: a status, after an optional delay (a receiver that
/// stalls), with headers (a `Location` for a redirect) and a body, or `streamBytes` bytes streamed
/// without end in sight (a hostile receiver).
struct ReceiverAnswer: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: String = ""
    var delay: Duration = .zero
    var streamBytes: Int = 0

    static func status(_ status: Int, body: String = "") -> ReceiverAnswer { ReceiverAnswer(status: status, body: body) }
    static func redirect(_ status: Int = 302, to location: String) -> ReceiverAnswer {
        ReceiverAnswer(status: status, headers: [("Location", location)])
    }
    static func stall(_ delay: Duration, then status: Int = 200) -> ReceiverAnswer { ReceiverAnswer(status: status, delay: delay) }
    static func stream(_ bytes: Int) -> ReceiverAnswer { ReceiverAnswer(status: 200, streamBytes: bytes) }
}

/// A real HTTP receiver on 127.0.0.1 (Hummingbird) that records every request and answers from a
/// script, then a fallback. Started with `start`, ended with `stop`; stalls and streams end early
/// when it stops, so stopping never waits on them.
final class WebhookReceiver: Sendable {
    private let state: State
    private let server: Task<Void, any Error>
    private let stopping: AsyncStream<Void>.Continuation
    let port: Int

    var url: String { "http://127.0.0.1:\(port)/hook" }

    private init(state: State, server: Task<Void, any Error>, stopping: AsyncStream<Void>.Continuation, port: Int) {
        self.state = state
        self.server = server
        self.stopping = stopping
        self.port = port
    }

    static func start(answers: [Int] = [], fallback: Int = 200) async throws -> WebhookReceiver {
        try await start(script: answers.map { .status($0) }, fallback: .status(fallback))
    }

    static func start(script: [ReceiverAnswer], fallback: ReceiverAnswer = .status(200)) async throws -> WebhookReceiver {
        let state = State(script: script, fallback: fallback)
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let (stop, stopping) = AsyncStream<Void>.makeStream()
        let router = Router()
        router.on("**", method: .post) { request, _ in try await Self.answer(request, state: state) }
        router.on("**", method: .get) { request, _ in try await Self.answer(request, state: state) }
        let server = Task {
            defer { portSink.finish() }
            try await withFakeServer(router) { port in
                portSink.yield(port)
                for await _ in stop {}
            }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            stopping.finish()
            try await server.value
            throw FakeServerError.didNotStart
        }
        return WebhookReceiver(state: state, server: server, stopping: stopping, port: port)
    }

    func received() async -> [ReceivedWebhook] { await state.requests }

    /// The bytes written so far by answers that stream.
    func streamedBytes() async -> Int { await state.streamed }

    /// The requests once there are at least `count`; throws when `timeout` passes first.
    func waitForRequests(count: Int, timeout: Duration) async throws -> [ReceivedWebhook] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let seen = await state.requests
            if seen.count >= count { return seen }
            guard ContinuousClock.now < deadline else { throw ReceiverTimeout(wanted: count, seen: seen.count) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func setAnswers(_ answers: [Int], fallback: Int) async {
        await state.reset(answers.map { .status($0) }, fallback: .status(fallback))
    }

    func setScript(_ script: [ReceiverAnswer], fallback: ReceiverAnswer) async {
        await state.reset(script, fallback: fallback)
    }

    func stop() async throws {
        await state.stop()
        stopping.finish()
        try await server.value
    }

    struct ReceiverTimeout: Error, CustomStringConvertible {
        var wanted: Int
        var seen: Int
        var description: String { "the webhook receiver got \(seen) requests, not \(wanted)" }
    }

    private static func answer(_ request: Request, state: State) async throws -> Response {
        // Hummingbird carries HTTP/1's Host as the request's authority, not among its fields.
        var headers: [String: String] = request.head.authority.map { ["host": $0] } ?? [:]
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let body = try await request.body.collect(upTo: 16 << 20)
        let answer = await state.record(
            ReceivedWebhook(method: request.method.rawValue, path: request.uri.path, headers: headers, body: Array(body.readableBytesView))
        )
        var waited = Duration.zero
        while waited < answer.delay, await !state.isStopping {
            try await Task.sleep(for: .milliseconds(20))
            waited += .milliseconds(20)
        }
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        guard answer.streamBytes > 0 else {
            return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let total = answer.streamBytes
        return Response(
            status: .init(code: answer.status),
            headers: fields,
            body: ResponseBody { writer in
                let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 << 10)
                var sent = 0
                while sent < total, await !state.isStopping {
                    try await writer.write(chunk)
                    sent += chunk.readableBytes
                    await state.streamed(chunk.readableBytes)
                }
                try await writer.finish(nil)
            }
        )
    }

    private actor State {
        var script: [ReceiverAnswer]
        var fallback: ReceiverAnswer
        var requests: [ReceivedWebhook] = []
        var streamed = 0
        var isStopping = false

        init(script: [ReceiverAnswer], fallback: ReceiverAnswer) {
            self.script = script
            self.fallback = fallback
        }

        func record(_ request: ReceivedWebhook) -> ReceiverAnswer {
            requests.append(request)
            return script.isEmpty ? fallback : script.removeFirst()
        }

        func reset(_ script: [ReceiverAnswer], fallback: ReceiverAnswer) {
            self.script = script
            self.fallback = fallback
        }

        func streamed(_ bytes: Int) { streamed += bytes }
        func stop() { isStopping = true }
    }
}
