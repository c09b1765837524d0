import Foundation
import HTTPTypes
import NIOCore
import Testing

@testable import MostradorAPI

/// `multipart/form-data` edge cases (review I7, test 9): each is a 400 with a reason or a safe display name.
@Suite("Multipart: boundaries, closing delimiter, one file, safe names")
struct MultipartFormTests {
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 1, count: 64)

    /// A body from raw parts (`headers` lines, then the bytes), closed unless `closed` is false.
    static func body(boundary: String, parts: [(headers: [String], bytes: [UInt8])], closed: Bool = true) -> ByteBuffer
    {
        var buffer = ByteBuffer()
        for part in parts {
            buffer.writeString("--\(boundary)\r\n" + part.headers.map { $0 + "\r\n" }.joined() + "\r\n")
            buffer.writeBytes(part.bytes)
            buffer.writeString("\r\n")
        }
        if closed { buffer.writeString("--\(boundary)--\r\n") }
        return buffer
    }

    static func field(_ name: String, _ value: String) -> (headers: [String], bytes: [UInt8]) {
        (["Content-Disposition: form-data; name=\"\(name)\""], Array(value.utf8))
    }

    static func file(_ disposition: String, _ bytes: [UInt8] = jpeg) -> (headers: [String], bytes: [UInt8]) {
        (["Content-Disposition: form-data; \(disposition)", "Content-Type: image/jpeg"], bytes)
    }

    func refusal(_ body: ByteBuffer, contentType: String) -> String? {
        do {
            _ = try MultipartForm(body: body, contentType: contentType)
            return nil
        } catch let error as APIError {
            return error.status == .badRequest ? error.detail : "status \(error.status)"
        } catch {
            return "\(error)"
        }
    }

    @Test func malformedFormsAreRefusedWithTheirReason() {
        let good = Self.body(
            boundary: "B", parts: [Self.field("remitente", "1"), Self.file(#"name="imagen"; filename="a.jpg""#)])
        let cases: [(String, ByteBuffer, String, String)] = [
            ("no boundary", good, "multipart/form-data", "sin 'boundary'"),
            ("empty boundary", good, "multipart/form-data; boundary=\"\"", "no es válido"),
            (
                "long boundary", good, "multipart/form-data; boundary=\(String(repeating: "b", count: 71))",
                "no es válido"
            ),
            (
                "not closed", Self.body(boundary: "B", parts: [Self.field("remitente", "1")], closed: false),
                "multipart/form-data; boundary=B", "delimitador final"
            ),
            (
                "two files",
                Self.body(
                    boundary: "B",
                    parts: [
                        Self.file(#"name="imagen"; filename="a.jpg""#), Self.file(#"name="otra"; filename="b.jpg""#),
                    ]),
                "multipart/form-data; boundary=B", "un archivo"
            ),
            (
                "empty file", Self.body(boundary: "B", parts: [Self.file(#"name="imagen"; filename="a.jpg""#, [])]),
                "multipart/form-data; boundary=B", "vacío"
            ),
            (
                "garbage", ByteBuffer(string: "--B\r\n\u{1}\u{2}: x\r\n\r\n--B--"), "multipart/form-data; boundary=B",
                "no es válido"
            ),
        ]
        for (name, body, contentType, reason) in cases {
            let detail = refusal(body, contentType: contentType)
            #expect(detail?.contains(reason) == true, "\(name): \(detail ?? "accepted")")
        }
        #expect(refusal(good, contentType: "multipart/form-data; boundary=B") == nil)
    }

    @Test func aQuotedBoundaryMayContainASemicolon() throws {
        let boundary = "abc;def=1"
        let form = try MultipartForm(
            body: Self.body(boundary: boundary, parts: [Self.field("remitente", "5215550001111")]),
            contentType: "multipart/form-data; boundary=\"\(boundary)\"; charset=utf-8")
        #expect(form.fields["remitente"] == "5215550001111")
    }

    @Test func parametersRespectQuotesAndEscapes() {
        let header = #"form-data; name="a;b"; filename="x\"y;z.jpg"; other=plain"#
        #expect(MultipartForm.parameter("name", in: header) == "a;b")
        #expect(MultipartForm.parameter("filename", in: header) == #"x"y;z.jpg"#)
        #expect(MultipartForm.parameter("OTHER", in: header) == "plain")
        #expect(MultipartForm.parameter("missing", in: header) == nil)
    }

    @Test func fileNamesBecomeSafeDisplayNames() throws {
        let cases: [(String, String?)] = [
            (#"name="file"; filename="../../x;y.jpg""#, "x;y.jpg"),
            (#"name="file"; filename="C:\\fotos\\pantalla.jpg""#, "pantalla.jpg"),
            (#"name="file"; filename*=UTF-8''%E2%82%AC%20recibo.pdf"#, "€ recibo.pdf"),
            (#"name="file"; filename="plain.jpg"; filename*=UTF-8''fancy%C3%B1.jpg"#, "fancyñ.jpg"),
            (#"name="file"; filename="fallback.jpg"; filename*=UTF-8''%ZZbad"#, "fallback.jpg"),
            (#"name="file"; filename*=iso-8859-1'es'a%F1o.jpg"#, "año.jpg"),
            (#"name="file"; filename="..""#, nil),
            ("name=\"file\"; filename=\"a\u{7}b\u{7F}.jpg\"", "ab.jpg"),
        ]
        for (disposition, expected) in cases {
            let form = try MultipartForm(
                body: Self.body(boundary: "B", parts: [Self.file(disposition)]),
                contentType: "multipart/form-data; boundary=B")
            #expect(form.file?.filename == expected, "\(disposition)")
            #expect(form.file?.bytes == Self.jpeg)
        }
    }

    @Test func aHeaderInjectionInTheFilenameIsStoredSafelyAndTheDownloadHeaderStaysIntact() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            let admin = try await api.admin()
            // The CR LF ends the part header: what follows is a header of its own, not part of the name.
            var body = ByteBuffer()
            body.writeString(
                "--B\r\nContent-Disposition: form-data; name=\"remitente\"\r\n\r\n5215550006666\r\n"
                    + "--B\r\nContent-Disposition: form-data; name=\"imagen\"; filename=\"../../x;y\r\nSet-Cookie: a=b\"\r\n"
                    + "Content-Type: image/jpeg\r\n\r\n")
            body.writeBytes(Self.jpeg)
            body.writeString("\r\n--B--\r\n")
            let reply = try await api.call(
                .post, "/webhook", authorization: "Bearer \(APITestSystem.webhookToken)", body: Data(buffer: body),
                contentType: "multipart/form-data; boundary=B")
            #expect(reply.status == 200, "\(reply.text)")
            let ticket = try reply.decode(Answer.Received.self).ticketID
            let items = try await api.call(.get, "/ticket/\(ticket)/evidencias", authorization: admin)
                .decode(Answer.Evidence.self).evidencias
            let url = try #require(items.first?.url)
            let download = try await api.call(.get, url, authorization: admin)
            #expect(download.status == 200)
            #expect(download.headers[.setCookie] == nil)
            let disposition = try #require(download.headers[.contentDisposition])
            #expect(!disposition.contains("\r") && !disposition.contains("\n"))
            #expect(!disposition.contains("../"))
            #expect(disposition.hasPrefix("inline; filename=\""))
        }
    }
}
