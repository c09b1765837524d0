import Foundation
import HTTPTypes
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Review section 8, test 10: files are what their bytes say, never what their name or declared type claims.
@Suite("Hostile files: SVG, polyglots and fake Word documents")
struct HostileFileTests {
    /// Uploads `bytes` (declared as `declared`, named `name`) into the guest's chat with a fresh grant.
    static func upload(
        _ api: APITestSystem, _ chat: (room: String, authorization: String, ticket: Int64), _ bytes: [UInt8],
        name: String, declared: String
    ) async throws -> APITestSystem.Reply {
        let token = try api.components.uploads.grant(ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
        var body = Data(
            ("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(name)\"\r\n"
                + "Content-Type: \(declared)\r\n\r\n").utf8)
        body.append(contentsOf: bytes)
        body.append(Data("\r\n--B--\r\n".utf8))
        return try await api.call(
            .post, "/api/soporte/tickets/\(chat.ticket)/chat/upload?upload_token=\(token)", body: body,
            contentType: "multipart/form-data; boundary=B")
    }

    static func attachmentCount(_ api: APITestSystem, _ ticket: Int64) async throws -> Int {
        try await api.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attachments WHERE ticket_id = ?", arguments: [ticket]) ?? 0
        }
    }

    @Test func anSVGDeclaredAsAnImageIsRefusedAndNothingIsStored() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat()
            let svg = Array(
                #"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>"#.utf8)
            let reply = try await Self.upload(api, chat, svg, name: "foto.png", declared: "image/png")
            #expect(reply.status == 415, Comment(rawValue: reply.text))
            #expect(reply.failure?.detail?.contains("no admitido") == true, Comment(rawValue: reply.text))
            #expect(try await Self.attachmentCount(api, chat.ticket) == 0)
        }
    }

    @Test func aJPEGWithHTMLInsideIsServedAsAJPEGThatIsNeverSniffed() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat()
            let polyglot: [UInt8] =
                [0xFF, 0xD8, 0xFF, 0xE0] + Array("<html><script>alert(document.domain)</script></html>".utf8)
            let reply = try await Self.upload(api, chat, polyglot, name: "x.html", declared: "text/html")
            #expect(reply.status == 201, Comment(rawValue: reply.text))
            let id = try #require(
                try await api.pool.read { db in
                    try Int64.fetchOne(
                        db, sql: "SELECT MAX(id) FROM attachments WHERE ticket_id = ?", arguments: [chat.ticket])
                })
            let served = try await api.call(.get, "/attachments/\(id)", authorization: try await api.admin())
            #expect(served.status == 200)
            #expect(served.headers[.contentType] == "image/jpeg")
            #expect(served.headers[.xContentTypeOptions] == "nosniff")
            #expect(served.headers[.contentSecurityPolicy]?.contains("sandbox") == true)
            #expect(Array(served.body) == polyglot)
        }
    }

    @Test(
        arguments: [
            // A ZIP that is not a Word document (no `word/` entry).
            [0x50, 0x4B, 0x03, 0x04] + Array("mimetype application/epub+zip content.opf".utf8),
            // Not a ZIP at all, though it mentions `word/`.
            Array("<html>word/document.xml</html>".utf8),
        ] as [[UInt8]])
    func somethingThatIsNotAWordDocumentIsRefused(_ bytes: [UInt8]) async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat()
            let reply = try await Self.upload(
                api, chat, bytes, name: "informe.docx",
                declared: "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
            #expect(reply.status == 415, Comment(rawValue: reply.text))
            #expect(try await Self.attachmentCount(api, chat.ticket) == 0)
        }
    }

    @Test func aWordDocumentIsAcceptedAndDownloadsAsAnAttachment() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat()
            let docx = [0x50, 0x4B, 0x03, 0x04] + Array("....word/document.xml....".utf8)
            let reply = try await Self.upload(
                api, chat, docx, name: "informe.docx", declared: "application/octet-stream")
            #expect(reply.status == 201, Comment(rawValue: reply.text))
            let id = try #require(
                try await api.pool.read { db in
                    try Int64.fetchOne(
                        db, sql: "SELECT MAX(id) FROM attachments WHERE ticket_id = ?", arguments: [chat.ticket])
                })
            let served = try await api.call(.get, "/attachments/\(id)", authorization: try await api.admin())
            #expect(served.headers[.contentDisposition]?.hasPrefix("attachment") == true)
        }
    }
}
