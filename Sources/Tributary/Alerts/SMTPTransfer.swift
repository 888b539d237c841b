import CCurl
import Foundation
import Synchronization

/// One SMTP conversation through a curl easy handle (blocking; run it off the event loops).
struct SMTPTransfer: Sendable {
    let settings: SMTPSettings
    let recipients: [String]
    let bytes: [UInt8]
    let timeout: Duration
    let cancel: CancelFlag

    func perform() -> Result<Void, MailError> {
        guard ccurl_global_init_once() == CURLE_OK, let handle = curl_easy_init() else {
            return .failure(MailError(message: "libcurl could not be initialised", retryable: true))
        }
        defer { curl_easy_cleanup(handle) }
        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        for recipient in recipients {
            guard let longer = curl_slist_append(list, recipient) else {
                return .failure(MailError(message: "out of memory for the recipient list", retryable: true))
            }
            list = longer
        }
        let errorSize = max(Int(ccurl_error_size()), 256)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: errorSize)
        errorBuffer.initialize(repeating: 0, count: errorSize)
        defer { errorBuffer.deallocate() }
        let source = Unmanaged.passRetained(UploadSource(bytes))
        defer { source.release() }

        let flag = Unmanaged.passRetained(cancel)
        defer { flag.release() }
        if let failed = configure(handle, recipients: list, errorBuffer: errorBuffer, source: source.toOpaque(), cancel: flag.toOpaque()) {
            return .failure(MailError(message: clean("libcurl refused option \(failed)"), retryable: false))
        }
        let code = curl_easy_perform(handle)
        guard code != CURLE_OK else { return .success(()) }
        if code == CURLE_ABORTED_BY_CALLBACK {
            return .failure(MailError(message: "sending through \(settings) was cancelled", retryable: true))
        }
        var response = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &response)
        let detail = String(cString: errorBuffer)
        let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        let answer = response > 0 ? " (SMTP response \(response))" : ""
        // A 5xx is the server's final word on this message (a refused recipient or sender); a
        // refused login (535) is a setting the operator fixes, after which waiting mail should go.
        let permanent = (500...599).contains(response) && code != CURLE_LOGIN_DENIED
        return .failure(
            MailError(message: clean("sending through \(settings) failed: \(reason)\(answer)"), retryable: !permanent)
        )
    }

    /// Sets every option; answers the name of the first one libcurl refused, nil when all took.
    private func configure(
        _ handle: UnsafeMutableRawPointer,
        recipients: UnsafeMutablePointer<curl_slist>?,
        errorBuffer: UnsafeMutablePointer<CChar>,
        source: UnsafeMutableRawPointer,
        cancel: UnsafeMutableRawPointer
    ) -> String? {
        let milliseconds = max(1, timeout.wholeMilliseconds)
        let total = Int(clamping: milliseconds)
        var options: [(String, () -> CURLcode)] = [
            ("ERRORBUFFER", { ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer) }),
            ("URL", { ccurl_setopt_string(handle, CURLOPT_URL, settings.connectURL) }),
            ("PROTOCOLS_STR", { ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps") }),
            ("MAIL_FROM", { ccurl_setopt_string(handle, CURLOPT_MAIL_FROM, settings.from) }),
            ("MAIL_RCPT", { ccurl_setopt_slist(handle, CURLOPT_MAIL_RCPT, recipients) }),
            ("MAIL_RCPT_ALLOWFAILS", { ccurl_allow_recipient_failures(handle) }),
            ("UPLOAD", { ccurl_setopt_long(handle, CURLOPT_UPLOAD, 1) }),
            ("READFUNCTION", { ccurl_setopt_read_function(handle, readMessage) }),
            ("READDATA", { ccurl_setopt_pointer(handle, CURLOPT_READDATA, source) }),
            ("INFILESIZE", { ccurl_setopt_long(handle, CURLOPT_INFILESIZE, bytes.count) }),
            ("XFERINFOFUNCTION", { ccurl_setopt_progress_function(handle, progress) }),
            ("XFERINFODATA", { ccurl_setopt_pointer(handle, CURLOPT_XFERINFODATA, cancel) }),
            ("NOSIGNAL", { ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1) }),
            ("TIMEOUT_MS", { ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, total) }),
            ("CONNECTTIMEOUT_MS", { ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, min(total, 30_000)) }),
        ]
        if settings.hasCredentials {
            // The password must never cross the wire in clear: STARTTLS or nothing for smtp://.
            options += [
                ("USE_SSL", { ccurl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)) }),
                ("USERNAME", { ccurl_setopt_string(handle, CURLOPT_USERNAME, settings.username) }),
                ("PASSWORD", { ccurl_setopt_string(handle, CURLOPT_PASSWORD, settings.password) }),
            ]
        }
        if let caFile = settings.caFile {
            options.append(("CAINFO", { ccurl_setopt_string(handle, CURLOPT_CAINFO, caFile) }))
        }
        return options.first { $0.1() != CURLE_OK }?.0
    }

    /// `text` without the password, in clear or percent-encoded, wherever a server or curl echoed it.
    private func clean(_ text: String) -> String {
        let password = settings.password
        guard !password.isEmpty else { return text }
        var result = text.replacingOccurrences(of: password, with: "***")
        if let encoded = password.addingPercentEncoding(withAllowedCharacters: .urlPasswordAllowed) {
            result = result.replacingOccurrences(of: encoded, with: "***")
        }
        return result
    }
}

/// The message bytes and how far libcurl has read them.
private final class UploadSource: @unchecked Sendable {
    // Only ever touched by the one thread running the transfer.
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// Set when the task sending the message is cancelled; libcurl's progress callback reads it.
final class CancelFlag: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .relaxed) }
    var isRaised: Bool { raised.load(ordering: .relaxed) }
}

/// CURLOPT_XFERINFOFUNCTION: a non-zero answer aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
private func progress(userdata: UnsafeMutableRawPointer?, _: curl_off_t, _: curl_off_t, _: curl_off_t, _: curl_off_t) -> Int32 {
    guard let userdata else { return 0 }
    return Unmanaged<CancelFlag>.fromOpaque(userdata).takeUnretainedValue().isRaised ? 1 : 0
}

/// CURLOPT_READFUNCTION: copies the next bytes of the message into libcurl's buffer.
private func readMessage(buffer: UnsafeMutablePointer<CChar>?, size: Int, count: Int, userdata: UnsafeMutableRawPointer?) -> Int {
    guard let buffer, let userdata else { return 0 }
    let source = Unmanaged<UploadSource>.fromOpaque(userdata).takeUnretainedValue()
    let (capacity, overflow) = size.multipliedReportingOverflow(by: count)
    let length = min(overflow ? Int.max : capacity, source.bytes.count - source.offset)
    guard length > 0 else { return 0 }
    source.bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        UnsafeMutableRawPointer(buffer).copyMemory(from: base + source.offset, byteCount: length)
    }
    source.offset += length
    return length
}
