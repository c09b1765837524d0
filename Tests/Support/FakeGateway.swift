import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// A real HTTP server standing in for a self-hosted WhatsApp gateway, speaking both WAHA's API (`X-Api-Key`;
/// `POST /api/sendText` → 201 `WAMessage`, `GET /api/sessions/{session}`, the Lids API, `/api/files/…`) and
/// Evolution API v2's (`apikey`; `POST /message/sendText/{instance}` → 201 with `key.id`,
/// `GET /instance/connectionState/{instance}`, `POST /chat/getBase64FromMediaMessage/{instance}`), answering as
/// the samples in `../shared/channels/waha` and `../shared/channels/evolution` do. Records every send.
public final class FakeGateway: Sendable {
    public struct Received: Sendable {
        /// `waha` or `evolution`.
        public let api: String
        public let key: String?
        public let path: String
        /// The body's text fields.
        public let body: [String: String]
        /// The whole JSON body, for nested fields (`file`, `quoted`).
        public let raw: Data

        public var object: [String: Any] { (try? JSONSerialization.jsonObject(with: raw)) as? [String: Any] ?? [:] }
    }

    private struct State {
        var working = true
        var received: [Received] = []
        var sentIDs: [String] = []
        /// Status and JSON body the next sends get instead of 201.
        var script: [(Int, String)] = []
        var lids: [String: String] = [:]
        var files: [String: [UInt8]] = [:]
        var fileRequests = 0
    }

    public let apiKey: String
    public let session: String
    public let port: Int
    private final class Box: Sendable { let state = Mutex(State()) }
    private let box = Box()
    private let task: Task<Void, any Error>

    public var url: String { "http://127.0.0.1:\(port)" }

    public init(apiKey: String = "gateway-key", session: String = "default") async throws {
        self.apiKey = apiKey
        self.session = session
        let box = self.box
        let router = Router()

        @Sendable func send(_ request: Request, api: String, keyHeader: String, required: [String] = []) async throws
            -> Response
        {
            let data = try await request.body.collect(upTo: 64 << 20)
            let raw = Data(data.readableBytesView)
            let object = (try? JSONSerialization.jsonObject(with: raw)) as? [String: Any] ?? [:]
            let key = request.headers[HTTPField.Name(keyHeader)!]
            let received = Received(
                api: api, key: key, path: request.uri.path, body: object.compactMapValues { $0 as? String }, raw: raw)
            // The fields the API's schema requires (a file's `mimetype` and `data` or `url`, Evolution's six).
            let missing = required.filter { path in
                var value: Any? = object
                for key in path.split(separator: ".") { value = (value as? [String: Any])?[String(key)] }
                return value == nil
            }
            guard missing.isEmpty else {
                box.state.withLock { $0.received.append(received) }
                return api == "waha"
                    ? Self.json(422, #"{"statusCode": 422, "message": "missing \#(missing.joined(separator: ", "))"}"#)
                    : Self.json(
                        400,
                        #"{"status": 400, "error": "Bad Request", "response": {"message": ["missing \#(missing.joined(separator: ", "))"]}}"#
                    )
            }
            let scripted: (Int, String)? = box.state.withLock { state in
                state.received.append(received)
                return state.script.isEmpty ? nil : state.script.removeFirst()
            }
            guard key == apiKey else { return Self.json(401, #"{"message": "Unauthorized"}"#) }
            if let (status, body) = scripted { return Self.json(status, body) }
            let id = "3EB0\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16))"
            if api == "waha" {
                let chat = received.body["chatId"] ?? ""
                let serialized = "true_\(chat)_\(id)"
                box.state.withLock { $0.sentIDs.append(serialized) }
                // WEBJS answers the id as an object with `_serialized`.
                return Self.json(
                    201,
                    #"{"id": {"fromMe": true, "remote": "\#(chat)", "id": "\#(id)", "_serialized": "\#(serialized)"}, "body": "ok", "fromMe": true, "ack": 0}"#
                )
            }
            box.state.withLock { $0.sentIDs.append(id) }
            let number = received.body["number"] ?? ""
            return Self.json(
                201,
                #"{"key": {"remoteJid": "\#(number)@s.whatsapp.net", "fromMe": true, "id": "\#(id)"}, "message": {"conversation": "ok"}, "messageTimestamp": 1717689097, "status": "PENDING"}"#
            )
        }

        // WAHA
        router.post("api/sendText") { request, _ in try await send(request, api: "waha", keyHeader: "X-Api-Key") }
        for path in ["api/sendImage", "api/sendFile"] {
            router.post(RouterPath(path)) { request, _ in
                try await send(
                    request, api: "waha", keyHeader: "X-Api-Key",
                    required: ["session", "chatId", "file.mimetype", "file.data"])
            }
        }
        router.get("api/sessions/:session") { request, context -> Response in
            guard request.headers[HTTPField.Name("X-Api-Key")!] == apiKey else {
                return Self.json(401, #"{"message": "Unauthorized"}"#)
            }
            let name = context.parameters.get("session") ?? ""
            guard name == session else { return Self.json(404, #"{"message": "Session not found"}"#) }
            let working = box.state.withLock { $0.working }
            return Self.json(
                200, #"{"name": "\#(name)", "status": "\#(working ? "WORKING" : "SCAN_QR_CODE")", "config": {}}"#)
        }
        router.get("api/:session/lids/:lid") { request, context -> Response in
            guard request.headers[HTTPField.Name("X-Api-Key")!] == apiKey else {
                return Self.json(401, #"{"message": "Unauthorized"}"#)
            }
            let lid = (context.parameters.get("lid") ?? "").split(separator: "@").first.map(String.init) ?? ""
            let phone = box.state.withLock { $0.lids[lid] }
            return Self.json(200, #"{"lid": "\#(lid)@lid", "pn": \#(phone.map { "\"\($0)\"" } ?? "null")}"#)
        }
        router.get("api/files/:name") { request, context -> Response in
            let file = box.state.withLock { state -> [UInt8]? in
                state.fileRequests += 1
                return state.files[context.parameters.get("name") ?? ""]
            }
            guard request.headers[HTTPField.Name("X-Api-Key")!] == apiKey, let file else {
                return Self.json(404, #"{"message": "Not found"}"#)
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: file)))
        }

        // Evolution API
        router.post("message/sendText/:instance") { request, context -> Response in
            guard context.parameters.get("instance") == session else {
                return Self.json(
                    404,
                    #"{"status": 404, "error": "Not Found", "response": {"message": ["The instance does not exist"]}}"#)
            }
            return try await send(request, api: "evolution", keyHeader: "apikey")
        }
        router.post("message/sendMedia/:instance") { request, context -> Response in
            guard context.parameters.get("instance") == session else {
                return Self.json(
                    404,
                    #"{"status": 404, "error": "Not Found", "response": {"message": ["The instance does not exist"]}}"#)
            }
            return try await send(
                request, api: "evolution", keyHeader: "apikey",
                required: ["number", "mediatype", "mimetype", "caption", "media", "fileName"])
        }
        router.get("instance/connectionState/:instance") { request, context -> Response in
            guard request.headers[HTTPField.Name("apikey")!] == apiKey else {
                return Self.json(401, #"{"status": 401, "error": "Unauthorized"}"#)
            }
            let working = box.state.withLock { $0.working }
            return Self.json(
                200,
                #"{"instance": {"instanceName": "\#(context.parameters.get("instance") ?? "")", "state": "\#(working ? "open" : "close")"}}"#
            )
        }
        router.post("chat/getBase64FromMediaMessage/:instance") { request, _ -> Response in
            let data = try await request.body.collect(upTo: 1 << 20)
            let object = (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView))) as? [String: Any]
            let id = ((object?["message"] as? [String: Any])?["key"] as? [String: Any])?["id"] as? String ?? ""
            let file = box.state.withLock { state -> [UInt8]? in
                state.fileRequests += 1
                return state.files[id]
            }
            guard request.headers[HTTPField.Name("apikey")!] == apiKey, let file else {
                return Self.json(
                    400, #"{"status": 400, "error": "Bad Request", "response": {"message": ["no media"]}}"#)
            }
            return Self.json(
                201,
                #"{"mediaType": "imageMessage", "mimetype": "image/jpeg", "base64": "\#(Data(file).base64EncodedString())"}"#
            )
        }

        (port, task) = try await FakeServer.start(router, label: "fake-gateway")
    }

    deinit { task.cancel() }

    public func stop() { task.cancel() }

    /// Whether the session (WAHA) or the instance (Evolution) is connected to WhatsApp.
    public var working: Bool {
        get { box.state.withLock { $0.working } }
        set { box.state.withLock { $0.working = newValue } }
    }

    /// The next sends are answered with these (status, JSON body), in order.
    public func script(_ answers: [(Int, String)]) { box.state.withLock { $0.script = answers } }

    /// WAHA's Lids API knows `lid` (digits) as `phone` (`…@c.us`).
    public func knowLID(_ lid: String, phone: String) { box.state.withLock { $0.lids[lid] = phone } }

    /// A file the gateway holds: by name under `/api/files/` (WAHA) or by message id (Evolution).
    public func addFile(_ name: String, bytes: [UInt8]) { box.state.withLock { $0.files[name] = bytes } }

    public var received: [Received] { box.state.withLock { $0.received } }
    public var sentIDs: [String] { box.state.withLock { $0.sentIDs } }
    public var fileRequests: Int { box.state.withLock { $0.fileRequests } }

    private static func json(_ status: Int, _ body: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
