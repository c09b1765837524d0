import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A real HTTP server standing in for Meta's Graph API (`MOSTRADOR_CLOUD_API_URL`), answering as the samples in
/// `Tests/Fixtures/meta-cloud/` do: `POST /{phone-number-id}/messages` → `send/response_200` with a fresh `wamid`,
/// or the next scripted error envelope (`errors/graph_error_envelope_examples`); `GET /{phone-number-id}` → the
/// number's record while the token is right; `POST /{phone-number-id}/media` (multipart `messaging_product`,
/// `type`, `file`) → `{"id"}`, and a send that names a media id it never received is refused as Meta refuses it.
/// Records every send and upload.
public final class FakeCloudAPI: Sendable {
    /// One media upload as it arrived.
    public struct Upload: Sendable {
        public let id: String
        public let authorization: String?
        /// The multipart text fields (`messaging_product`, `type`).
        public let fields: [String: String]
        public let filename: String?
        public let contentType: String?
        public let bytes: [UInt8]
    }

    /// One send as it arrived.
    public struct Received: Sendable {
        public let phoneNumberID: String
        public let authorization: String?
        /// The JSON body.
        public let body: [String: any Sendable]
        public var text: String? { (body["text"] as? [String: any Sendable])?["body"] as? String }
    }

    /// An answer the fake gives instead of accepting: an HTTP status with a Graph error code.
    public struct Failure: Sendable {
        public var status: Int
        public var code: Int
        public var message: String
        public var retryAfter: String? = nil

        public init(status: Int, code: Int, message: String, retryAfter: String? = nil) {
            self.status = status
            self.code = code
            self.message = message
            self.retryAfter = retryAfter
        }
    }

    private struct State {
        var script: [Failure] = []
        var received: [Received] = []
        var sentIDs: [String] = []
        var down = false
        /// Files customers sent, by media id.
        var media: [String: [UInt8]] = [:]
        var mediaDownloads = 0
        var uploads: [Upload] = []
        /// Where it listens (the media URLs it hands out name it).
        var port = 0
    }

    public let token: String
    public let port: Int
    private final class Box: Sendable { let state = Mutex(State()) }
    private let box = Box()
    private let task: Task<Void, any Error>

    public var url: String { "http://127.0.0.1:\(port)/v23.0" }

    public init(token: String = "cloud-token") async throws {
        self.token = token
        let box = self.box
        let router = Router()
        router.post("v23.0/:id/media") { request, context -> Response in
            guard request.headers[.authorization] == "Bearer \(token)" else {
                return Self.error(Failure(status: 401, code: 190, message: "Invalid OAuth access token."))
            }
            let data = try await request.body.collect(upTo: 64 << 20)
            guard let parts = Self.multipart(Data(data.readableBytesView), contentType: request.headers[.contentType]),
                let file = parts.first(where: { $0.name == "file" })
            else {
                return Self.error(Failure(status: 400, code: 100, message: "Param file must be a file upload"))
            }
            var fields: [String: String] = [:]
            for part in parts where part.name != "file" {
                fields[part.name] = String(decoding: part.body, as: UTF8.self)
            }
            guard fields["messaging_product"] == "whatsapp" else {
                return Self.error(
                    Failure(status: 400, code: 100, message: "The parameter messaging_product is required."))
            }
            guard fields["type"] != nil else {
                return Self.error(Failure(status: 400, code: 100, message: "The parameter type is required."))
            }
            let id = String(UInt64.random(in: 1_000_000_000_000_000...9_999_999_999_999_999))
            let upload = Upload(
                id: id, authorization: request.headers[.authorization], fields: fields, filename: file.filename,
                contentType: file.contentType, bytes: [UInt8](file.body))
            box.state.withLock {
                $0.uploads.append(upload)
                $0.media[id] = upload.bytes
            }
            return Self.json(200, ["id": id])
        }
        router.post("v23.0/:id/messages") { request, context -> Response in
            let data = try await request.body.collect(upTo: 1 << 20)
            let object =
                (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView))) as? [String: Any] ?? [:]
            let received = Received(
                phoneNumberID: context.parameters.get("id") ?? "", authorization: request.headers[.authorization],
                body: Self.sendable(object))
            let failure: Failure? = box.state.withLock { state in
                state.received.append(received)
                return state.script.isEmpty ? nil : state.script.removeFirst()
            }
            guard received.authorization == "Bearer \(token)" else {
                return Self.error(Failure(status: 401, code: 190, message: "Invalid OAuth access token."))
            }
            if let failure { return Self.error(failure) }
            // An image or document names its media id (`send/image_by_id`): one this "Meta" never received is
            // refused.
            if let type = object["type"] as? String, ["image", "document"].contains(type) {
                let id = (object[type] as? [String: Any])?["id"] as? String
                guard let id, box.state.withLock({ $0.media[id] != nil }) else {
                    return Self.error(Failure(status: 400, code: 131053, message: "Media upload error"))
                }
            }
            let recipient = (object["to"] ?? object["recipient"]) as? String ?? ""
            let contactKey = object["recipient"] == nil ? "wa_id" : "user_id"
            let wamid = "wamid.\(UUID().uuidString.replacingOccurrences(of: "-", with: ""))"
            box.state.withLock { $0.sentIDs.append(wamid) }
            return Self.json(
                200,
                [
                    "messaging_product": "whatsapp",
                    "contacts": [["input": recipient, contactKey: recipient]],
                    "messages": [["id": wamid]],
                ])
        }
        // A phone number's record, or a media id's (pywa `get_media_url`): the file's URL on this same server.
        router.get("v23.0/:id") { request, context -> Response in
            let id = context.parameters.get("id") ?? ""
            let (down, file) = box.state.withLock { ($0.down, $0.media[id]) }
            guard !down, request.headers[.authorization] == "Bearer \(token)" else {
                return Self.error(Failure(status: 401, code: 190, message: "Invalid OAuth access token."))
            }
            if let file {
                return Self.json(
                    200,
                    [
                        "messaging_product": "whatsapp",
                        "url": "http://127.0.0.1:\(box.state.withLock { $0.port })/media/\(id)",
                        "mime_type": "image/jpeg", "sha256": "x", "file_size": file.count, "id": id,
                    ])
            }
            return Self.json(200, ["id": id, "verified_name": "Mostrador"])
        }
        router.get("media/:id") { request, context -> Response in
            let file = box.state.withLock { state -> [UInt8]? in
                state.mediaDownloads += 1
                return state.media[context.parameters.get("id") ?? ""]
            }
            guard request.headers[.authorization] == "Bearer \(token)", let file else {
                return Self.json(404, ["error": "not found"])
            }
            return Response(
                status: .ok, headers: [.contentType: "image/jpeg"], body: .init(byteBuffer: ByteBuffer(bytes: file)))
        }
        (port, task) = try await FakeServer.start(router, label: "fake-cloud-api")
        box.state.withLock { [port] in $0.port = port }
    }

    deinit { task.cancel() }

    /// The next sends fail with these, in order; then sends are accepted again.
    public func script(_ failures: [Failure]) { box.state.withLock { $0.script = failures } }

    /// Whether the number's record answers (the relay's probe).
    public var down: Bool {
        get { box.state.withLock { $0.down } }
        set { box.state.withLock { $0.down = newValue } }
    }

    public var received: [Received] { box.state.withLock { $0.received } }

    /// The `wamid` of every accepted send, in order.
    public var sentIDs: [String] { box.state.withLock { $0.sentIDs } }

    /// Makes a file available under `id`, as Meta holds what customers send.
    public func addMedia(_ id: String, bytes: [UInt8]) { box.state.withLock { $0.media[id] = bytes } }

    public var mediaDownloads: Int { box.state.withLock { $0.mediaDownloads } }

    /// Every media upload, in order.
    public var uploads: [Upload] { box.state.withLock { $0.uploads } }

    /// The parts of a `multipart/form-data` body: name, file name, type and bytes; nil when it is not one.
    static func multipart(_ body: Data, contentType: String?)
        -> [(name: String, filename: String?, contentType: String?, body: Data)]?
    {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
            let range = contentType.range(of: "boundary=")
        else { return nil }
        let boundary = Data(
            "--\(contentType[range.upperBound...].trimmingCharacters(in: .init(charactersIn: "\" ")))".utf8)
        var parts: [(name: String, filename: String?, contentType: String?, body: Data)] = []
        var rest = body[...]
        while let start = rest.range(of: boundary) {
            rest = rest[start.upperBound...]
            if rest.starts(with: Data("--".utf8)) { break }
            guard let headerEnd = rest.range(of: Data("\r\n\r\n".utf8)),
                let next = rest.range(of: Data("\r\n".utf8) + boundary, in: headerEnd.upperBound..<rest.endIndex)
            else { return nil }
            let headers = String(decoding: rest[rest.startIndex..<headerEnd.lowerBound], as: UTF8.self)
            func parameter(_ key: String) -> String? {
                guard let found = headers.range(of: "\(key)=\"") else { return nil }
                return String(headers[found.upperBound...].prefix { $0 != "\"" })
            }
            let type = headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-type:") }
                .map { $0.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces) }
            guard let name = parameter("name") else { return nil }
            parts.append((name, parameter("filename"), type, Data(rest[headerEnd.upperBound..<next.lowerBound])))
            rest = rest[next.lowerBound...]
        }
        return parts
    }

    public func stop() { task.cancel() }

    /// The Graph error envelope (`errors/graph_error_envelope_examples.meta-openapi.json`).
    private static func error(_ failure: Failure) -> Response {
        var response = json(
            failure.status,
            [
                "error": [
                    "message": "(#\(failure.code)) \(failure.message)", "type": "OAuthException",
                    "code": failure.code,
                    "error_data": ["messaging_product": "whatsapp", "details": failure.message],
                    "fbtrace_id": "AbCdEfGh",
                ]
            ])
        if let retryAfter = failure.retryAfter { response.headers[HTTPField.Name("Retry-After")!] = retryAfter }
        return response
    }

    private static func json(_ status: Int, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func sendable(_ object: [String: Any]) -> [String: any Sendable] {
        object.mapValues { value -> any Sendable in
            if let nested = value as? [String: Any] { return sendable(nested) }
            if let list = value as? [Any] { return list.map { sendable(["v": $0])["v"]! } }
            if let text = value as? String { return text }
            if let number = value as? Int { return number }
            if let flag = value as? Bool { return flag }
            return String(describing: value)
        }
    }
}
