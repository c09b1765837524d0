import AsyncHTTPClient
import Foundation
import MostradorContracts
import NIOCore
import NIOHTTP1

/// Meta's WhatsApp Cloud API: `POST {base}/{phone-number-id}/messages` with `Authorization: Bearer …`
/// (`../shared/channels/meta-cloud/NOTES.md` §5). A 200 only means accepted: delivered and read come back as
/// statuses on the api's webhook, matched by the `wamid` returned here.
///
/// The Cloud API takes no idempotency key: the relay's ledger keeps a redelivered command from being sent twice,
/// but a send that timed out after Meta accepted it can reach the customer twice when retried.
struct CloudAPIAdapter: ChannelAdapter {
    let name = "whatsapp-cloud"
    let client: HTTPClient
    /// `https://graph.facebook.com/v23.0` (or a stand-in in tests), without a trailing slash.
    let baseURL: String
    let phoneNumberID: String
    let token: String
    let timeout: Duration

    func send(_ message: OutboundMessage) async -> SendOutcome {
        var mediaID: String?
        if let file = message.attachment, message.template == nil {
            switch await upload(file) {
            case .sent(let id?): mediaID = id
            case .sent(nil):
                return .transient(reason: "la Cloud API no devolvió el id del archivo subido", retryAfter: nil)
            case let other: return other
            }
        }
        guard let body = try? Self.body(for: message, mediaID: mediaID) else {
            return .rejected(reason: "mensaje no codificable")
        }
        return await client.sendToChannel(
            "\(baseURL)/\(phoneNumberID)/messages", headers: [("Authorization", "Bearer \(token)")], json: body,
            timeout: timeout, name: "la Cloud API", outcome: Self.outcome)
    }

    /// `GET {base}/{phone-number-id}`: the number's own record answers while the token is good.
    func probe() async -> Bool? {
        let answer = await client.checkChannel(
            "\(baseURL)/\(phoneNumberID)", headers: [("Authorization", "Bearer \(token)")])
        return answer.map { (200..<300).contains($0.status) } ?? false
    }

    /// `POST {base}/{phone-number-id}/media` (multipart: `messaging_product`, `type`, `file`) → `{"id": …}`: the
    /// media id a message then names. Uploading (rather than a link) works whether or not Meta can reach
    /// Mostrador. Its errors are the Graph errors of a send, mapped the same way.
    func upload(_ file: RelayAttachment) async -> SendOutcome {
        let boundary = "mostrador-\(UUID().uuidString)"
        var request = HTTPClientRequest(url: "\(baseURL)/\(phoneNumberID)/media")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
        let span = request.startClientSpan(channel: "Cloud API media")
        defer { span.end() }
        request.body = .bytes(ByteBuffer(bytes: Self.multipart(file, boundary: boundary)))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds * 4))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let body = Data(bytes.readableBytesView)
            guard (200..<300).contains(Int(response.status.code)) else {
                return Self.outcome(status: Int(response.status.code), headers: response.headers, body: body)
            }
            return .sent(providerID: ChannelJSON.object(body)?["id"] as? String)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .transient(reason: "timeout al subir el archivo a la Cloud API", retryAfter: nil)
        } catch {
            return .channelDown(reason: "sin conexión con la Cloud API: \(error)")
        }
    }

    /// The upload's `multipart/form-data` body.
    static func multipart(_ file: RelayAttachment, boundary: String) -> Data {
        func field(_ name: String, _ value: String) -> String {
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        let filename = file.displayName.replacingOccurrences(of: "\"", with: "_")
        var data = Data((field("messaging_product", "whatsapp") + field("type", file.mime)).utf8)
        data.append(
            Data(
                ("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\n"
                    + "Content-Type: \(file.mime)\r\n\r\n").utf8))
        data.append(file.data)
        data.append(Data("\r\n--\(boundary)--\r\n".utf8))
        return data
    }

    /// A text message (`../shared/channels/meta-cloud/send/text.request.meta-openapi.json`), or an image or
    /// document by its uploaded media id (`image_by_id`, `reply_image_by_id_with_context`) with the text as its
    /// caption; a reply names the quoted message in `context.message_id`. A business-scoped user id (`US.1349…`,
    /// users known only by a username) goes in `recipient` instead of `to`. The idempotency key rides along as
    /// `biz_opaque_callback_data`, which Meta echoes in the message's statuses.
    static func body(for message: OutboundMessage, mediaID: String? = nil) throws -> Data {
        let recipient = Array(message.recipient.utf8)
        let isBSUID =
            recipient.count > 3 && recipient[2] == UInt8(ascii: ".")
            && recipient[0...1].allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
        let phone = message.recipient.prefix { $0 != "@" }.filter { $0.isASCII && $0.isNumber }
        var object: [String: Any] = [
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "biz_opaque_callback_data": message.idempotencyKey,
        ]
        if let template = message.template {
            // `send/template_text_params`: the body's parameters as text, in order.
            var body: [String: Any] = ["name": template.name, "language": ["code": template.language]]
            if !template.parameters.isEmpty {
                body["components"] = [
                    ["type": "body", "parameters": template.parameters.map { ["type": "text", "text": $0] }]
                ]
            }
            object["type"] = "template"
            object["template"] = body
        } else if let file = message.attachment, let mediaID {
            var media: [String: Any] = ["id": mediaID]
            if !message.text.isEmpty { media["caption"] = message.text }
            // The Cloud API takes pictures up to 5 MB; a larger one goes as a document (up to 100 MB).
            let asImage = file.isImage && file.data.count <= Self.maximumImageSize
            if !asImage { media["filename"] = file.displayName }
            let type = asImage ? "image" : "document"
            object["type"] = type
            object[type] = media
        } else {
            object["type"] = "text"
            object["text"] = ["body": message.text, "preview_url": false]
        }
        if let replyTo = message.replyTo { object["context"] = ["message_id": replyTo] }
        if isBSUID {
            object["recipient"] = message.recipient
        } else {
            object["to"] = phone
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// Meta's limit for an `image` message.
    static let maximumImageSize = 5 << 20

    /// The Graph error codes (`NOTES.md` §5, pywa `errors.py`) a send can meet, mapped to what the relay does.
    static func outcome(status: Int, headers: HTTPHeaders, body: Data) -> SendOutcome {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        if (200..<300).contains(status) {
            let messages = object?["messages"] as? [[String: Any]]
            return .sent(providerID: messages?.first?["id"] as? String)
        }
        let error = object?["error"] as? [String: Any]
        let code = (error?["code"] as? Int) ?? (error?["code"] as? String).flatMap(Int.init)
        let details = (error?["error_data"] as? [String: Any])?["details"] as? String
        let message = (error?["message"] as? String) ?? "HTTP \(status)"
        let reason = String(([message] + (details.map { [$0] } ?? [])).joined(separator: ": ").prefix(300))
        let retryAfter = RetryAfter.from(headers)
        guard let code else {
            switch status {
            case 401, 403: return .channelDown(reason: "la Cloud API rechazó el token (HTTP \(status))")
            case 408, 429, 500..<600: return .transient(reason: reason, retryAfter: retryAfter)
            default: return .rejected(reason: reason)
            }
        }
        switch code {
        case 131047:
            return .rejected(
                reason: "fuera de la ventana de 24 h: solo se puede enviar una plantilla aprobada (\(reason))")
        case 4, 80007, 130429, 131056:
            return .transient(reason: "límite de envío de WhatsApp: \(reason)", retryAfter: retryAfter)
        case 1, 2, 131000, 131016:
            return .transient(reason: "servicio de WhatsApp no disponible: \(reason)", retryAfter: retryAfter)
        case 0, 3, 10, 190, 200...299:
            // The token or the app's permissions: the operator's to fix; the messages wait for it.
            return .channelDown(reason: "la Cloud API rechazó el token o los permisos: \(reason)")
        default:
            return .rejected(reason: reason)
        }
    }
}
