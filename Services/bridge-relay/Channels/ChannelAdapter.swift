import AMQPClient
import AsyncHTTPClient
import Foundation
import MostradorContracts
import MostradorTracing
import NIOCore
import NIOHTTP1

/// A message on its way to a customer.
struct OutboundMessage: Sendable {
    /// The AMQP message id: the same for every attempt, sent to the channel as an idempotency key.
    let idempotencyKey: String
    let recipient: String
    /// The text, or the caption of `attachment`.
    let text: String
    var attachment: RelayAttachment? = nil
    /// The channel's id of the customer message this answers.
    var replyTo: String? = nil
    /// An approved template (Cloud API); other channels send `text`, its rendered body.
    var template: RelayTemplate? = nil

    init(
        idempotencyKey: String, recipient: String, text: String, attachment: RelayAttachment? = nil,
        replyTo: String? = nil
    ) {
        self.idempotencyKey = idempotencyKey
        self.recipient = recipient
        self.text = text
        self.attachment = attachment
        self.replyTo = replyTo
    }

    init(_ command: RelaySend, idempotencyKey: String) {
        self.init(
            idempotencyKey: idempotencyKey, recipient: command.recipient, text: command.text,
            attachment: command.attachment, replyTo: command.replyTo.flatMap { $0.isEmpty ? nil : $0 })
        template = command.template
    }
}

/// What became of one attempt to send.
enum SendOutcome: Sendable, Equatable {
    /// Accepted by the channel, with its message id when it gave one.
    case sent(providerID: String?)
    /// The channel is down (503, connection refused or reset): park and wait for it.
    case channelDown(reason: String)
    /// Worth trying again later (timeout, 5xx, 429), no sooner than `retryAfter` when the channel said so.
    case transient(reason: String, retryAfter: Duration?)
    /// The channel refused this message for good (a 4xx about the message itself).
    case rejected(reason: String)
}

/// How a channel is reached: the seed bridge today, Meta's Cloud API or WAHA behind the same protocol later.
protocol ChannelAdapter: Sendable {
    var name: String { get }
    func send(_ message: OutboundMessage) async -> SendOutcome
    /// Whether the channel answers again: true, false, or nil when it cannot tell (no health endpoint).
    func probe() async -> Bool?
}

extension HTTPClient {
    /// One JSON `POST` to a channel, its answer turned into an outcome by `outcome`: a timeout is worth another
    /// try, a refused or broken connection means the channel is down (`name` says which, in Spanish).
    func sendToChannel(
        _ url: String, headers: [(String, String)], json: Data, timeout: Duration, name: String,
        outcome: (_ status: Int, _ headers: HTTPHeaders, _ body: Data) -> SendOutcome
    ) async -> SendOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (header, value) in headers { request.headers.add(name: header, value: value) }
        var span = request.startClientSpan(channel: name)
        request.body = .bytes(ByteBuffer(bytes: json))
        defer { span.end() }
        do {
            let response = try await execute(request, timeout: .milliseconds(timeout.milliseconds))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            span.attributes["http.response.status_code"] = String(response.status.code)
            span.failed = response.status.code >= 400
            return outcome(Int(response.status.code), response.headers, Data(bytes.readableBytesView))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            span.failed = true
            span.attributes["error.type"] = "timeout"
            return .transient(reason: "timeout tras \(timeout)", retryAfter: nil)
        } catch {
            span.failed = true
            span.attributes["error.type"] = "connection"
            return .channelDown(reason: "sin conexión con \(name): \(error)")
        }
    }

    /// A channel's health or status endpoint: its status code and (bounded) body, nil when it cannot be reached.
    func checkChannel(_ url: String, headers: [(String, String)]) async -> (status: Int, body: Data)? {
        var request = HTTPClientRequest(url: url)
        for (header, value) in headers { request.headers.add(name: header, value: value) }
        guard let response = try? await execute(request, timeout: .seconds(5)) else { return nil }
        let body = (try? await response.body.collect(upTo: 64 << 10)).map { Data($0.readableBytesView) } ?? Data()
        return (Int(response.status.code), body)
    }
}

extension HTTPClientRequest {
    /// The relay's call to a channel is a client span of the trace it works for (the technician's request that sent
    /// the message): the channel gets it in `traceparent`. The caller ends the span.
    mutating func startClientSpan(channel: String) -> Span {
        let context = TraceContext.current?.child() ?? .start()
        headers.replaceOrAdd(name: TraceContext.header, value: context.traceparent)
        return Span(
            "\(method.rawValue) \(channel)", kind: .client, context: context,
            attributes: ["http.request.method": method.rawValue, "mostrador.channel": channel])
    }
}

/// JSON helpers for channel answers that are never trusted to have a shape.
enum ChannelJSON {
    static func object(_ body: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    /// A string, or the first string of an array (Evolution's `response.message` is a list).
    static func text(_ value: Any?) -> String? {
        if let text = value as? String { return text }
        if let list = value as? [Any] { return list.compactMap { $0 as? String }.first }
        return nil
    }
}

/// A channel's `Retry-After`, for every adapter.
enum RetryAfter {
    /// The header's value from `headers` (see `parse`); nil when absent or unusable.
    static func from(_ headers: HTTPHeaders) -> Duration? {
        headers.first(name: "Retry-After").flatMap { parse($0) }
    }

    /// The range a `Retry-After` is clamped to: the delay queues top out at 5 minutes, and a bridge asking for
    /// less than a second (or for a moment in the past) gets the shortest level.
    static let range: ClosedRange<Double> = 1...300

    /// `Retry-After` as seconds or as an HTTP date, clamped to `range` (a bridge's `1e300`, `-5` or a
    /// past date must neither trap the conversion to an integer nor stall the message); nil when it says nothing
    /// usable (`inf`, `nan`, garbage), so that the relay's own backoff applies: `inf` is no time to wait.
    static func parse(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        let seconds: Double
        if let number = Double(text) {
            seconds = number
        } else {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
            guard let date = formatter.date(from: text) else { return nil }
            seconds = date.timeIntervalSince(now)
        }
        guard seconds.isFinite else { return nil }
        let clamped = min(max(seconds, range.lowerBound), range.upperBound)
        return .milliseconds(Int64(clamped * 1000))
    }
}
