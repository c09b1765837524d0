import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import MostradorAPI

/// Browser security headers on every kind of response, attachments served safely, and CORS only for the origins
/// an operator listed (security review I3, tests 8).
@Suite struct SecurityHeadersTests {
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let frameOptions = HTTPField.Name("X-Frame-Options")!

    /// What every response of the api carries.
    static func expectBrowserHeaders(_ reply: APITestSystem.Reply, _ what: String) {
        let policy = reply.headers[.contentSecurityPolicy] ?? ""
        for directive in [
            "default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'",
            "base-uri 'none'", "form-action 'self'",
        ] {
            #expect(policy.contains(directive), "\(what): CSP '\(policy)' lacks \(directive)")
        }
        #expect(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "\(what): \(policy)")
        #expect(reply.headers[.xContentTypeOptions] == "nosniff", "\(what)")
        #expect(reply.headers[frameOptions] == "DENY", "\(what)")
        #expect(reply.headers[referrerPolicy] == "no-referrer", "\(what)")
    }

    @Test func pagesStaticFilesJSONErrorsAndNotFoundCarryTheHeaders() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let replies: [(String, APITestSystem.Reply, Int)] = [
                ("panel", try await api.call(.get, "/"), 200),
                ("guest page", try await api.call(.get, "/chat/"), 200),
                ("module", try await api.call(.get, "/panel/main.js"), 200),
                ("stylesheet", try await api.call(.get, "/styles.css"), 200),
                ("JSON", try await api.call(.get, "/tickets", authorization: admin), 200),
                ("404", try await api.call(.get, "/no-existe"), 404),
                ("401", try await api.call(.get, "/tickets"), 401),
                ("400", try await api.call(.post, "/api/auth/login/", body: Data("{no es json".utf8)), 400),
                ("OpenAPI", try await api.call(.get, "/openapi.yaml"), 200),
            ]
            for (what, reply, status) in replies {
                #expect(reply.status == status, "\(what): \(reply.status) \(reply.text.prefix(200))")
                Self.expectBrowserHeaders(reply, what)
            }
            // Errors keep their JSON body.
            #expect(replies[5].1.failure != nil && replies[6].1.failure != nil)
            // Over plain HTTP and by default (`auto`) no HSTS: browsers would ignore it there anyway.
            #expect(replies.allSatisfy { $0.1.headers[.strictTransportSecurity] == nil })
            // The policy admits what the panel uses: same-origin modules and sockets, blob: pictures, data: icon.
            let policy = try #require(replies[0].1.headers[.contentSecurityPolicy])
            #expect(policy.contains("img-src 'self' data: blob:") && policy.contains("connect-src 'self'"))
            #expect(!policy.contains("google"))
        }
    }

    @Test func hstsFollowsTheSetting() async throws {
        let https: [String: String] = ["X-Forwarded-Proto": "https"]
        try await APITestSystem.with { api in
            let forwarded = try await api.call(.get, "/", headers: https)
            let plain = try await api.call(.get, "/")
            #expect(forwarded.headers[.strictTransportSecurity] == "max-age=31536000")
            #expect(plain.headers[.strictTransportSecurity] == nil)
        }
        try await APITestSystem.with(configure: { $0.hsts = .off }) { api in
            let forwarded = try await api.call(.get, "/", headers: https)
            #expect(forwarded.headers[.strictTransportSecurity] == nil)
        }
        try await APITestSystem.with(configure: { $0.hsts = .on }) { api in
            let notFound = try await api.call(.get, "/no-existe")
            #expect(notFound.headers[.strictTransportSecurity] == "max-age=31536000")
        }
    }

    @Test func recaptchaAddsGooglesScriptAndFrameOnly() async throws {
        try await APITestSystem.with(configure: {
            $0.recaptchaSecret = "secreto"
            $0.recaptchaSiteKey = "clave"
        }) { api in
            let policy = try #require(try await api.call(.get, "/chat/").headers[.contentSecurityPolicy])
            #expect(
                policy.contains(
                    "script-src 'self' https://www.google.com/recaptcha/ https://www.gstatic.com/recaptcha/;"))
            #expect(policy.contains("frame-src https://www.google.com/recaptcha/"))
            #expect(policy.contains("frame-ancestors 'none'"))
        }
    }

    @Test func attachmentsArePicturesInlineAndEverythingElseADownload() async throws {
        try await APITestSystem.with { api in
            let admin = try await api.admin()
            let chat = try await api.guestChat("les mando el informe")
            let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + Array(repeating: 1, count: 300)
            let pdf = Array("%PDF-1.4\n1 0 obj <<>> endobj\n<script>alert(1)</script>\n%%EOF\n".utf8)
            func serve(_ bytes: [UInt8], _ name: String?) async throws -> APITestSystem.Reply {
                let file = try api.components.attachments.store(bytes, filename: name)
                let message = try await api.components.conversations.attach(
                    file, by: .guest(ticketID: chat.ticket), in: chat.ticket)
                let row = try #require(
                    try await api.components.attachments.list(ticketID: chat.ticket).first { $0.messageID == message })
                return try await api.call(.get, "/attachments/\(row.id)", authorization: admin)
            }

            let photo = try await serve(jpeg, "foto.jpg")
            #expect(photo.status == 200)
            #expect(photo.headers[.contentType] == "image/jpeg")
            #expect(photo.headers[.contentDisposition] == "inline; filename=\"foto.jpg\"; filename*=UTF-8''foto.jpg")

            let document = try await serve(pdf, "Informe \"año\"; 2026\r\nSet-Cookie: a=b.pdf")
            #expect(document.status == 200)
            #expect(document.headers[.contentType] == "application/pdf")
            let disposition = try #require(document.headers[.contentDisposition])
            #expect(disposition.hasPrefix("attachment; "), "\(disposition)")
            #expect(
                disposition
                    == "attachment; filename=\"Informe _a_o__ 2026Set-Cookie: a=b.pdf\"; filename*=UTF-8''Informe%20%22a%C3%B1o%22%3B%202026Set-Cookie%3A%20a%3Db.pdf",
                "\(disposition)")
            #expect(document.headers[.setCookie] == nil)

            let unnamed = try await serve(Array("%PDF-1.7\n%%EOF\n".utf8), nil)
            #expect(unnamed.headers[.contentDisposition]?.hasPrefix("attachment; filename=\"evidencia-") == true)

            for (what, reply) in [("photo", photo), ("document", document), ("unnamed", unnamed)] {
                #expect(reply.headers[.xContentTypeOptions] == "nosniff", "\(what)")
                #expect(reply.headers[.contentSecurityPolicy] == "default-src 'none'; sandbox", "\(what)")
                #expect(reply.headers[Self.frameOptions] == "DENY", "\(what)")
            }
        }
    }

    @Test func corsAnswersOnlyTheListedOrigins() async throws {
        let shop = "https://tienda.example.com"
        try await APITestSystem.with(configure: { $0.corsOrigins = [shop] }) { api in
            func preflight(_ origin: String) async throws -> APITestSystem.Reply {
                try await api.call(
                    .options, "/api/auth/login/",
                    headers: [
                        "Origin": origin, "Access-Control-Request-Method": "POST",
                        "Access-Control-Request-Headers": "authorization, content-type",
                    ])
            }
            let allowed = try await preflight(shop)
            #expect(allowed.status == 204)
            #expect(allowed.headers[.accessControlAllowOrigin] == shop)
            let methods = allowed.headers[.accessControlAllowMethods] ?? ""
            #expect(["GET", "POST", "PATCH", "DELETE"].allSatisfy(methods.contains), "\(methods)")
            let headers = allowed.headers[.accessControlAllowHeaders] ?? ""
            #expect(headers.contains("Authorization") && headers.contains("Content-Type"), "\(headers)")
            #expect(allowed.headers[.accessControlMaxAge] == "600")
            #expect(allowed.headers[.vary] == "Origin")
            #expect(allowed.headers[.accessControlAllowCredentials] == nil)
            Self.expectBrowserHeaders(allowed, "preflight")

            for origin in ["https://evil.example", "https://tienda.example.com.evil.example", "null", "*"] {
                let refused = try await preflight(origin)
                #expect(refused.status != 204, "\(origin)")
                #expect(refused.headers[.accessControlAllowOrigin] == nil, "\(origin)")
            }

            let read = try await api.call(.get, "/openapi.yaml", headers: ["Origin": shop])
            let other = try await api.call(.get, "/openapi.yaml", headers: ["Origin": "https://evil.example"])
            #expect(read.headers[.accessControlAllowOrigin] == shop)
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            #expect(read.headers[values: .vary].contains("Origin") && other.headers[values: .vary].contains("Origin"))
            // Errors, too, are readable by the allowed page.
            let failed = try await api.call(.get, "/tickets", headers: ["Origin": shop])
            #expect(failed.status == 401 && failed.headers[.accessControlAllowOrigin] == shop)
        }
        try await APITestSystem.with { api in
            let nothing = try await api.call(
                .options, "/api/auth/login/", headers: ["Origin": shop, "Access-Control-Request-Method": "POST"])
            #expect(nothing.status != 204)
            #expect(nothing.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func theOriginListIsChecked() throws {
        #expect(
            try CrossOriginMiddleware<APIRequestContext>.parse(" https://a.example , http://b.example:8080 ,")
                == ["https://a.example", "http://b.example:8080"])
        for bad in [
            "*", "https://a.example/", "https://a.example/ruta", "a.example", "ftp://a.example", "HTTPS://A.example",
        ] {
            #expect(throws: CrossOriginMiddleware<APIRequestContext>.OriginListProblem.self, "\(bad)") {
                try CrossOriginMiddleware<APIRequestContext>.parse(bad)
            }
        }
    }
}

extension APITestSystem {
    /// A request with extra headers (an `Origin`, a proxy's `X-Forwarded-Proto`).
    func call(
        _ method: HTTPRequest.Method, _ path: String, authorization: String? = nil, headers extra: [String: String]
    ) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let authorization { headers[.authorization] = authorization }
        for (name, value) in extra { headers[HTTPField.Name(name)!] = value }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: nil)
        return Reply(status: Int(response.status.code), body: Data(buffer: response.body), headers: response.headers)
    }
}
