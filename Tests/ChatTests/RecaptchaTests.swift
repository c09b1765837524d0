import Foundation
import Hummingbird
import NIOCore
import Synchronization
import TestSupport
import Testing

/// reCAPTCHA is off by default and, with a secret, checked against a verification server.
@Suite("reCAPTCHA on complete_chat", .serialized)
struct RecaptchaTests {
    final class Seen: Sendable {
        let forms = Mutex([String]())
    }

    final class FakeVerifier: Sendable {
        let port: Int
        let task: Task<Void, any Error>
        let seen = Seen()

        init() async throws {
            port = try freePort()
            let router = Router()
            let seen = self.seen
            router.post("siteverify") { request, _ -> Response in
                let form = String(buffer: try await request.body.collect(upTo: 1 << 16))
                seen.forms.withLock { $0.append(form) }
                let good = form.contains("response=token-bueno") && form.contains("secret=s3cret")
                let body =
                    good
                    ? #"{"success": true, "score": 0.9}"#
                    : #"{"success": false, "error-codes": ["invalid-input-response"]}"#
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: body)))
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
            task = Task { try await app.runService(gracefulShutdownSignals: []) }
            for _ in 0..<100 {
                if (try? await HTTP.get("http://127.0.0.1:\(port)/").status) != nil { break }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
    }

    @Test func aSecretTurnsVerificationOnAndBadTokensAreRefused() async throws {
        let verifier = try await FakeVerifier()
        defer { verifier.task.cancel() }
        let system = try await MostradorSystem(
            relay: false,
            environment: [
                "MOSTRADOR_RECAPTCHA_SECRET": "s3cret",
                "MOSTRADOR_RECAPTCHA_VERIFY_URL": "http://127.0.0.1:\(verifier.port)/siteverify",
            ])
        defer { Task { await system.stop() } }
        func complete(_ token: String) async throws -> HTTPResult {
            let session =
                try await HTTP.post("\(system.baseURL)/api/chat/start_chat/", json: ["initial_message": "hola"]).json()[
                    "session_id"] as? String
            return try await HTTP.post(
                "\(system.baseURL)/api/chat/complete_chat/",
                json: [
                    "session_id": session ?? "", "email": "r@x.com", "full_name": "Rita", "phone_number": "5512345678",
                    "recaptcha_token": token,
                ])
        }
        let bad = try await complete("token-malo")
        #expect(bad.status == 400)
        #expect((try bad.json()["error"] as? String)?.contains("reCAPTCHA") == true)
        #expect(try await complete("").status == 400)
        #expect(try await complete("token-bueno").status == 200)
        #expect(verifier.seen.forms.withLock { $0.count } == 2)
    }

    @Test func withoutASecretNoVerificationHappens() async throws {
        let system = try await MostradorSystem(relay: false)
        defer { Task { await system.stop() } }
        let chat = try await system.guestChat()
        #expect(!chat.room.isEmpty)
    }
}
