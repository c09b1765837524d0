import AsyncHTTPClient
import Foundation
import MostradorContracts
import MostradorServiceKit
import NIOPosix
import TestSupport
import Testing

@testable import MostradorBridgeRelay

/// Files and quoted replies out, through each channel's adapter against the real HTTP stand-ins: what reaches the
/// channel is what its documentation asks for (`../shared/channels/…/send`).
@Suite("Files and replies through every channel")
struct ChannelMediaTests {
    /// A real PNG header and some bytes: what a technician's screenshot starts with.
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<3000).map { UInt8($0 % 251) }
    static let pdf: [UInt8] = Array("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".utf8)

    static func photo(caption: String = "Así quedó la tarjeta", replyTo: String? = nil) -> OutboundMessage {
        OutboundMessage(
            idempotencyKey: "k-photo", recipient: "5214771234567", text: caption,
            attachment: RelayAttachment(mime: "image/png", filename: "tarjeta.png", data: Data(png)), replyTo: replyTo)
    }

    static func document(name: String? = "presupuesto.pdf") -> OutboundMessage {
        OutboundMessage(
            idempotencyKey: "k-doc", recipient: "5214771234567", text: "",
            attachment: RelayAttachment(mime: "application/pdf", filename: name, data: Data(pdf)))
    }

    static func withClient(_ body: (HTTPClient) async throws -> Void) async throws {
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        do {
            try await body(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    // MARK: Cloud API

    @Test func cloudUploadsThePhotoThenSendsItByMediaIDWithCaptionAndQuote() async throws {
        try await CloudChannelTests.with { adapter, graph in
            let outcome = await adapter.send(Self.photo(replyTo: "wamid.CLIENTE1"))
            guard case .sent(let wamid) = outcome else {
                Issue.record("expected sent, got \(outcome)")
                return
            }
            #expect(wamid == graph.sentIDs.last)
            let upload = try #require(graph.uploads.first)
            #expect(graph.uploads.count == 1)
            #expect(upload.authorization == "Bearer \(graph.token)")
            #expect(upload.fields["messaging_product"] == "whatsapp")
            #expect(upload.fields["type"] == "image/png")
            #expect(upload.contentType == "image/png")
            #expect(upload.filename == "tarjeta.png")
            #expect(upload.bytes == Self.png)
            let send = try #require(graph.received.first)
            #expect(send.body["type"] as? String == "image")
            let image = try #require(send.body["image"] as? [String: any Sendable])
            #expect(image["id"] as? String == upload.id)
            #expect(image["caption"] as? String == "Así quedó la tarjeta")
            #expect(image["link"] == nil)
            #expect((send.body["context"] as? [String: any Sendable])?["message_id"] as? String == "wamid.CLIENTE1")
            #expect(send.body["text"] == nil)
        }
    }

    @Test func cloudSendsADocumentWithItsFileNameAndNoEmptyCaption() async throws {
        try await CloudChannelTests.with { adapter, graph in
            guard case .sent = await adapter.send(Self.document()) else {
                Issue.record("expected sent")
                return
            }
            let send = try #require(graph.received.first)
            #expect(send.body["type"] as? String == "document")
            let document = try #require(send.body["document"] as? [String: any Sendable])
            #expect(document["filename"] as? String == "presupuesto.pdf")
            #expect(document["caption"] == nil)
            #expect(graph.uploads.first?.bytes == Self.pdf)
            #expect(send.body["context"] == nil)
        }
    }

    @Test func cloudSendsAPictureOverMetasImageLimitAsADocument() async throws {
        try await CloudChannelTests.with { adapter, graph in
            let big = Data(Self.png + [UInt8](repeating: 1, count: CloudAPIAdapter.maximumImageSize))
            let message = OutboundMessage(
                idempotencyKey: "k", recipient: "5214771234567", text: "",
                attachment: RelayAttachment(mime: "image/png", filename: "foto-grande.png", data: big))
            guard case .sent = await adapter.send(message) else {
                Issue.record("expected sent")
                return
            }
            let send = try #require(graph.received.first)
            #expect(send.body["type"] as? String == "document")
            #expect((send.body["document"] as? [String: any Sendable])?["filename"] as? String == "foto-grande.png")
            #expect(graph.uploads.first?.bytes.count == big.count)
        }
    }

    @Test func cloudUploadRefusedIsTheSendsOutcomeAndNothingIsSent() async throws {
        try await CloudChannelTests.with { adapter, graph in
            // The token is wrong for this adapter: the upload is refused (190), the channel is down.
            let wrong = CloudAPIAdapter(
                client: adapter.client, baseURL: adapter.baseURL, phoneNumberID: adapter.phoneNumberID,
                token: "otro", timeout: .seconds(5))
            guard case .channelDown = await wrong.send(Self.photo()) else {
                Issue.record("expected channel down")
                return
            }
            #expect(graph.uploads.isEmpty)
            #expect(graph.received.isEmpty)
        }
    }

    @Test func cloudTextReplyNamesTheQuotedMessage() async throws {
        try await CloudChannelTests.with { adapter, graph in
            let reply = OutboundMessage(
                idempotencyKey: "k", recipient: "5214771234567", text: "Sí, ese", replyTo: "wamid.CLIENTE2")
            guard case .sent = await adapter.send(reply) else {
                Issue.record("expected sent")
                return
            }
            let send = try #require(graph.received.first)
            #expect(send.text == "Sí, ese")
            #expect((send.body["context"] as? [String: any Sendable])?["message_id"] as? String == "wamid.CLIENTE2")
            #expect(graph.uploads.isEmpty)
        }
    }

    @Test func cloudSendsAnApprovedTemplateWithItsBodyParameters() async throws {
        try await CloudChannelTests.with { adapter, graph in
            var message = OutboundMessage(
                idempotencyKey: "k", recipient: "5214771234567", text: "Hola Ana, su equipo está listo")
            message.template = RelayTemplate(name: "equipo_listo", language: "es_MX", parameters: ["Ana", "Dell"])
            guard case .sent = await adapter.send(message) else {
                Issue.record("expected sent")
                return
            }
            let send = try #require(graph.received.first)
            #expect(send.body["type"] as? String == "template")
            #expect(send.body["text"] == nil)
            let template = try #require(send.body["template"] as? [String: any Sendable])
            #expect(template["name"] as? String == "equipo_listo")
            #expect((template["language"] as? [String: any Sendable])?["code"] as? String == "es_MX")
            // `send/template_text_params`: components[{type: body, parameters: [{type: text, text}]}].
            let components = try #require(template["components"] as? [any Sendable])
            let body = try #require(components.first as? [String: any Sendable])
            #expect(body["type"] as? String == "body")
            let parameters = try #require(body["parameters"] as? [any Sendable])
            #expect(parameters.compactMap { ($0 as? [String: any Sendable])?["text"] as? String } == ["Ana", "Dell"])
            #expect(parameters.allSatisfy { ($0 as? [String: any Sendable])?["type"] as? String == "text" })
            #expect(graph.uploads.isEmpty)
        }
    }

    // MARK: WAHA

    @Test func wahaSendsPhotosBySendImageAndDocumentsBySendFileInline() async throws {
        try await GatewayChannelTests.with { client, fake, gateway in
            let adapter = WAHAAdapter(client: client, gateway: gateway, timeout: .seconds(5))
            guard case .sent(let id) = await adapter.send(Self.photo(replyTo: "false_5214771234567@c.us_AAAA")) else {
                Issue.record("photo not sent")
                return
            }
            #expect(id == fake.sentIDs.last)
            let photo = try #require(fake.received.last)
            #expect(photo.path == "/api/sendImage")
            #expect(photo.body["chatId"] == "5214771234567@c.us")
            #expect(photo.body["session"] == "default")
            #expect(photo.body["caption"] == "Así quedó la tarjeta")
            #expect(photo.body["reply_to"] == "false_5214771234567@c.us_AAAA")
            let file = try #require(photo.object["file"] as? [String: Any])
            #expect(file["mimetype"] as? String == "image/png")
            #expect(file["filename"] as? String == "tarjeta.png")
            #expect((file["data"] as? String).flatMap { Data(base64Encoded: $0) } == Data(Self.png))

            guard case .sent = await adapter.send(Self.document(name: nil)) else {
                Issue.record("document not sent")
                return
            }
            let document = try #require(fake.received.last)
            #expect(document.path == "/api/sendFile")
            #expect(document.body["caption"] == nil)
            #expect(document.body["reply_to"] == nil)
            let documentFile = try #require(document.object["file"] as? [String: Any])
            // No stored name: one that says what it is.
            #expect(documentFile["filename"] as? String == "documento.pdf")
            #expect((documentFile["data"] as? String).flatMap { Data(base64Encoded: $0) } == Data(Self.pdf))
        }
    }

    @Test func wahaTextReplyCarriesReplyTo() async throws {
        try await GatewayChannelTests.with { client, fake, gateway in
            let adapter = WAHAAdapter(client: client, gateway: gateway, timeout: .seconds(5))
            let reply = OutboundMessage(
                idempotencyKey: "k", recipient: "123123123@lid", text: "Sí, ese", replyTo: "false_123123123@lid_BBBB")
            guard case .sent = await adapter.send(reply) else {
                Issue.record("not sent")
                return
            }
            let request = try #require(fake.received.last)
            #expect(request.path == "/api/sendText")
            #expect(request.body["reply_to"] == "false_123123123@lid_BBBB")
            #expect(request.body["chatId"] == "123123123@lid")
        }
    }

    // MARK: Evolution API

    @Test func evolutionSendsMediaWithEveryRequiredFieldAndQuotes() async throws {
        try await GatewayChannelTests.with { client, fake, gateway in
            let adapter = EvolutionAdapter(client: client, gateway: gateway, timeout: .seconds(5))
            guard case .sent(let id) = await adapter.send(Self.photo(replyTo: "3EB0CLIENTE")) else {
                Issue.record("photo not sent")
                return
            }
            #expect(id == fake.sentIDs.last)
            let photo = try #require(fake.received.last)
            #expect(photo.path == "/message/sendMedia/default")
            #expect(photo.key == fake.apiKey)
            #expect(photo.body["number"] == "5214771234567")
            #expect(photo.body["mediatype"] == "image")
            #expect(photo.body["mimetype"] == "image/png")
            #expect(photo.body["fileName"] == "tarjeta.png")
            #expect(photo.body["caption"] == "Así quedó la tarjeta")
            #expect(photo.body["media"].flatMap { Data(base64Encoded: $0) } == Data(Self.png))
            let quoted = try #require(photo.object["quoted"] as? [String: Any])
            #expect((quoted["key"] as? [String: Any])?["id"] as? String == "3EB0CLIENTE")

            guard case .sent = await adapter.send(Self.document()) else {
                Issue.record("document not sent")
                return
            }
            let document = try #require(fake.received.last)
            #expect(document.body["mediatype"] == "document")
            #expect(document.body["fileName"] == "presupuesto.pdf")
            #expect(document.object["quoted"] == nil)

            let reply = OutboundMessage(
                idempotencyKey: "k", recipient: "5214771234567", text: "Sí, ese", replyTo: "3EB0OTRO")
            guard case .sent = await adapter.send(reply) else {
                Issue.record("reply not sent")
                return
            }
            let text = try #require(fake.received.last)
            #expect(text.path == "/message/sendText/default")
            #expect(
                ((text.object["quoted"] as? [String: Any])?["key"] as? [String: Any])?["id"] as? String == "3EB0OTRO")
        }
    }

    // MARK: Seed bridge

    @Test func seedBridgeGetsTheFileFieldsAndATextThatNamesItForOlderBridges() throws {
        func encoded(_ message: OutboundMessage) throws -> [String: Any] {
            let data = try JSONEncoder().encode(SeedBridgeAdapter.Body(message))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        let photo = try encoded(Self.photo(replyTo: "3EB0ABC"))
        #expect(photo["numero"] as? String == "5214771234567")
        #expect(photo["texto"] as? String == "Así quedó la tarjeta")
        #expect(photo["caption"] as? String == "Así quedó la tarjeta")
        #expect(photo["mimetype"] as? String == "image/png")
        #expect((photo["imagen_base64"] as? String).flatMap { Data(base64Encoded: $0) } == Data(Self.png))
        #expect(photo["documento_base64"] == nil)
        #expect(photo["en_respuesta_a"] as? String == "3EB0ABC")

        let document = try encoded(Self.document())
        // A seed-era bridge ignores the file and sends `texto`: it names the file instead of going out empty.
        #expect(document["texto"] as? String == "📎 presupuesto.pdf")
        #expect(document["caption"] as? String == "")
        #expect(document["nombre_archivo"] as? String == "presupuesto.pdf")
        #expect((document["documento_base64"] as? String).flatMap { Data(base64Encoded: $0) } == Data(Self.pdf))
        #expect(document["imagen_base64"] == nil)

        // A plain text is exactly the seed's body.
        let text = try encoded(OutboundMessage(idempotencyKey: "k", recipient: "5214771234567", text: "Hola"))
        #expect(Set(text.keys) == ["numero", "texto"])
    }

    @Test func aFilesDisplayNameNeverCarriesAFolderOrControlCharacters() {
        let hostile = RelayAttachment(mime: "application/pdf", filename: "../../etc/pass\u{0}wd\n.pdf", data: Data())
        #expect(hostile.displayName == "pass" + "wd.pdf")
        #expect(RelayAttachment(mime: "image/jpeg", filename: "  ", data: Data()).displayName == "imagen.jpg")
        #expect(RelayAttachment(mime: "application/zip", filename: nil, data: Data()).displayName == "documento")
    }
}
