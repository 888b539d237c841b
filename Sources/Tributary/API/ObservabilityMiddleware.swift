import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Gives each request an id (the client's, if sane), logs its answer and counts it.
struct ObservabilityMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requestID = request.headers[.requestID].flatMap(Self.sanitized) ?? Self.newRequestID()
        var context = context
        context.logger[metadataKey: "request_id"] = "\(requestID)"
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Errors are normally answered by the problem middleware inside this one; whatever
            // escapes it still gets a problem answer here.
            response = ProblemMiddleware<Context>.problem(for: error, logger: context.logger).response(requestID: requestID)
        }
        let elapsed = ContinuousClock.now - start
        response.headers[.requestID] = requestID
        let route = context.endpointPath ?? "unmatched"
        metrics.record(method: request.method.rawValue, route: route, status: Int(response.status.code), duration: elapsed)
        let status = response.status.code
        context.logger.log(
            level: status >= 500 ? .error : .info,
            "request",
            metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(status)",
                "duration_ms": "\(elapsed.wholeMilliseconds)",
            ]
        )
        return response
    }

    static func sanitized(_ value: String) -> String? {
        guard (1...128).contains(value.count),
            value.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) })
        else { return nil }
        return value
    }

    /// The 32 hex digits of a random UUID, lowercase, byte by byte (Foundation's replacing of the
    /// dashes was 2% of the API's CPU under load). Through its text, not its raw bytes: a
    /// `withUnsafeBytes` of `uuid` read 17 bytes in a debug build.
    static func newRequestID() -> String {
        var hex: [UInt8] = []
        hex.reserveCapacity(32)
        for byte in UUID().uuidString.utf8 where byte != UInt8(ascii: "-") {
            hex.append((UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) ? byte | 0x20 : byte)
        }
        return String(decoding: hex, as: UTF8.self)
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}
