import AsyncHTTPClient
import Foundation
import NIOCore
import TributaryConnectors

/// POSTs one event to a tenant-chosen URL through the egress policy (resolved, every address
/// checked, the connection pinned; redirects never followed), signed under both schemes, within
/// one timeout for the whole exchange. It reads at most 1 KiB of the answer: a hostile receiver
/// may stream without end, and dropping the rest of the body closes the connection.
struct WebhookDelivery: Sendable {
    let egress: EgressClient
    let timeout: Duration

    /// The most of a receiver's answer that is read (and kept in the outbox as its last answer).
    static let answerLimit = 1024
    static let userAgent = "Tributary-Webhooks/1"

    init(egress: EgressClient, timeout: Duration = .seconds(15)) {
        self.egress = egress
        self.timeout = timeout
    }

    func deliver(url: String, secret: String, eventID: UUID, body: [UInt8], now: Date = Date()) async -> WebhookOutcome {
        guard let signer = WebhookSigner(secret: secret) else {
            return .failed(status: nil, message: "the endpoint's signing secret is not a whsec_ secret", body: "")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: Self.userAgent)
        for header in signer.headers(eventID: eventID, timestamp: now, body: body) {
            request.headers.add(name: header.name, value: header.value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let (status, location, answer) = try await egress.execute(request, timeout: timeout) { response in
                (Int(response.status.code), response.headers.first(name: "Location"), try await Self.prefix(of: response.body))
            }
            return Self.outcome(status: status, location: location, body: String(decoding: answer, as: UTF8.self))
        } catch {
            return .failed(status: nil, message: Self.describe(error, timeout: timeout), body: "")
        }
    }

    /// The first `answerLimit` bytes of `body`; leaving the loop early drops the rest unread.
    static func prefix(of body: HTTPClientResponse.Body) async throws -> [UInt8] {
        var kept: [UInt8] = []
        for try await chunk in body {
            kept += chunk.readableBytesView.prefix(answerLimit - kept.count)
            if kept.count >= answerLimit { break }
        }
        return kept
    }

    static func outcome(status: Int, location: String?, body: String) -> WebhookOutcome {
        switch status {
        case 200..<300:
            return .delivered(status: status, body: body)
        case 410:
            return .gone(status: status, body: body)
        case 300..<400:
            let target = location.map { "redirect to \(printable($0)) is not followed" } ?? "redirect is not followed"
            return .failed(status: status, message: "receiver answered \(status): \(target)", body: body)
        default:
            return .failed(status: status, message: "receiver answered \(status)", body: body)
        }
    }

    /// Why no answer came, in words that name no secret: errors of our own types carry messages
    /// written for tenants; anything else is named by its kind.
    static func describe(_ error: any Error, timeout: Duration) -> String {
        switch error {
        case let error as ConnectorError:
            return error.description
        case is EgressClient.Timeout:
            return "timed out after \(seconds(timeout))"
        case let error as HTTPClientError where timeouts.contains(error):
            return "timed out after \(seconds(timeout))"
        case let error as HostResolver.Failure:
            return "could not resolve \(printable(error.host))"
        case let error as HTTPClientError:
            return "could not deliver: \(error.shortDescription)"
        case let error as IOError:
            return "could not connect: \(printable(error.description))"
        case is CancellationError:
            return "delivery cancelled (shutting down)"
        default:
            return "could not deliver: \(type(of: error))"
        }
    }

    static let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .connectTimeout, .tlsHandshakeTimeout]

    /// `15 s`, `0.5 s`.
    static func seconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        return fraction == 0 ? "\(whole) s" : "\(Double(whole) + Double(fraction) / 1e18) s"
    }

    /// A receiver's text as a message may carry it: control characters dropped, 200 characters at most.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.filter { !$0.properties.generalCategory.isControl }.prefix(200)))
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isControl: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }
}
