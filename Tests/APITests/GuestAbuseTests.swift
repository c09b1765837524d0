import Foundation
import MostradorContracts
import MostradorSQL
import Synchronization
import TestSupport
import Testing

@testable import MostradorAPI

/// What one visitor (or a bridge gone wrong) can do to the api, from the security review's adversarial tests 14,
/// 15 and 19: message floods through every path, upload grants and quotas, a full disk, and hostile text.
@Suite("Guest abuse: rates, quotas, disk and text")
struct GuestAbuseTests {
    static let bridge = "Bearer \(APITestSystem.webhookToken)"

    // MARK: Helpers

    static func guestSend(
        _ api: APITestSystem, _ chat: (room: String, authorization: String, ticket: Int64), _ text: String
    )
        async throws -> APITestSystem.Reply
    {
        try await api.call(
            .post, "/api/chat/send_message/", authorization: chat.authorization,
            json: ["chat_room_id": chat.room, "content": text])
    }

    /// The customer's messages stored in `ticket`.
    static func customerMessages(_ api: APITestSystem, _ ticket: Int64) async throws -> [String] {
        try await api.pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT content FROM messages WHERE ticket_id = ? AND role = 'user' ORDER BY id",
                arguments: [ticket])
        }
    }

    /// The `message.created` events of the customer in `ticket`: what the notifier turns into `new_message`.
    static func customerEvents(_ api: APITestSystem, _ ticket: Int64) async throws -> Int {
        try await api.outbox(MessageCreated.self).filter { $0.ticketID == ticket && $0.role == .user }.count
    }

    static func png(_ seed: Int, size: Int = 600) -> [UInt8] {
        var bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        // The seed makes each file distinct (files are stored once per content); the rest is filler.
        withUnsafeBytes(of: UInt64(truncatingIfNeeded: seed)) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: repeatElement(UInt8(truncatingIfNeeded: seed), count: max(0, size - 8)))
        return bytes
    }

    static func multipart(_ bytes: [UInt8]) -> Data {
        var data = Data(
            "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.png\"\r\nContent-Type: image/png\r\n\r\n"
                .utf8)
        data.append(contentsOf: bytes)
        data.append(Data("\r\n--B--\r\n".utf8))
        return data
    }

    static func upload(_ api: APITestSystem, ticket: Int64, token: String, _ bytes: [UInt8]) async throws
        -> APITestSystem.Reply
    {
        try await api.call(
            .post, "/api/soporte/tickets/\(ticket)/chat/upload?upload_token=\(token)", body: multipart(bytes),
            contentType: "multipart/form-data; boundary=B")
    }

    static func attachmentRows(_ api: APITestSystem, _ ticket: Int64) async throws -> Int {
        try await api.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attachments WHERE ticket_id = ?", arguments: [ticket]) ?? 0
        }
    }

    /// Every file under `attachments/`: stored ones and any temporary (`.`-prefixed) left behind.
    static func files(under root: String) -> (stored: Int, temporary: Int) {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return (0, 0) }
        var stored = 0
        var temporary = 0
        for case let path as String in walker {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory),
                !isDirectory.boolValue
            else { continue }
            if (path as NSString).lastPathComponent.hasPrefix(".") { temporary += 1 } else { stored += 1 }
        }
        return (stored, temporary)
    }

    // MARK: Message floods (test 19)

    /// 100 messages at once through REST: the burst is stored once each, the rest are 429 with `Retry-After`, the
    /// assigned agent hears of the stored ones only, and the rate comes back as time passes. Agents are not limited.
    @Test func restFloodIsRefusedAfterTheBurstAndRecovers() async throws {
        try await APITestSystem.with { api in
            let agent = try await api.agent("tecnico")
            let chat = try await api.guestChat("hola")
            #expect(
                try await api.call(.post, "/api/chatrooms/\(chat.room)/take/", authorization: agent.authorization)
                    .status == 200)
            var statuses: [Int: Int] = [:]
            var retryAfter: Set<String> = []
            for index in 1...100 {
                let reply = try await Self.guestSend(api, chat, "mensaje \(index)")
                statuses[reply.status, default: 0] += 1
                if reply.status == 429 {
                    retryAfter.insert(reply.headers[.retryAfter] ?? "none")
                    #expect(reply.failure?.detail?.contains("demasiado rápido") == true, Comment(rawValue: reply.text))
                }
            }
            #expect(statuses == [201: 8, 429: 92])
            #expect(!retryAfter.contains("none") && retryAfter.allSatisfy { (Int($0) ?? 0) >= 1 })
            let stored = try await Self.customerMessages(api, chat.ticket)
            #expect(stored == ["hola"] + (1...8).map { "mensaje \($0)" })
            #expect(try await Self.customerEvents(api, chat.ticket) == 9)

            // The agent writes as much as they like meanwhile.
            for index in 1...30 {
                let reply = try await api.call(
                    .post, "/api/chatrooms/\(chat.room)/send_message/", authorization: agent.authorization,
                    json: ["content": "respuesta \(index)"])
                #expect(reply.status == 201, Comment(rawValue: reply.text))
            }

            // The burst window passes: 8 more; then the minute's allowance (20) is spent until it slides by.
            api.clock.advance(by: 11)
            var accepted = 0
            for index in 1...20 where try await Self.guestSend(api, chat, "después \(index)").status == 201 {
                accepted += 1
            }
            #expect(accepted == 8)
            api.clock.advance(by: 11)
            let minute = try await Self.guestSend(api, chat, "otra más")
            #expect(minute.status == 201)
            for index in 1...4 { _ = try await Self.guestSend(api, chat, "relleno \(index)") }
            let spent = try await Self.guestSend(api, chat, "ya no")
            #expect(spent.status == 429, Comment(rawValue: spent.text))
            api.clock.advance(by: 61)
            #expect(try await Self.guestSend(api, chat, "de vuelta").status == 201)
            #expect(
                try await Self.customerEvents(api, chat.ticket)
                    == (try await Self.customerMessages(api, chat.ticket)).count)
        }
    }

    /// The per-address allowance is shared by every chat from one client.
    @Test func chatsFromOneAddressShareItsAllowance() async throws {
        try await APITestSystem.with(configure: {
            $0.guestMessageBurst = 1000
            $0.guestMessagesPerMinute = 1000
            $0.addressMessagesPerMinute = 10
        }) { api in
            let first = try await api.guestChat("uno")
            let second = try await api.guestChat("dos")
            var accepted = 0
            for index in 1...20 {
                let chat = index % 2 == 0 ? first : second
                let reply = try await Self.guestSend(api, chat, "mensaje \(index)")
                if reply.status == 201 { accepted += 1 } else { #expect(reply.status == 429) }
            }
            #expect(accepted == 10)
            let stored =
                try await Self.customerMessages(api, first.ticket).count
                + Self.customerMessages(api, second.ticket).count
            #expect(stored == 12)
        }
    }

    /// One `sync` with 200 messages: each counts. The answer is a 429 saying which were stored; resending the
    /// same batch later stores the next ones and never one twice.
    @Test func syncCountsEveryMessageAndStoresEachOnce() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat("hola")
            let batch: [[String: Any]] = (1...200).map { ["client_id": "offline-\($0)", "contenido": "sin red \($0)"] }
            let path = "/api/soporte/tickets/\(chat.room)/chat/sync/"
            let first = try await api.call(.post, path, authorization: chat.authorization, json: ["messages": batch])
            #expect(first.status == 429, Comment(rawValue: first.text))
            #expect(Int(first.headers[.retryAfter] ?? "") ?? 0 >= 1)
            let body = try first.json()
            #expect((body["sincronizados"] as? [[String: Any]])?.count == 8)
            #expect((body["detail"] as? String)?.contains("demasiado rápido") == true)
            #expect(try await Self.customerMessages(api, chat.ticket).count == 9)

            api.clock.advance(by: 11)
            let second = try await api.call(.post, path, authorization: chat.authorization, json: ["messages": batch])
            #expect(second.status == 429)
            let synced = try #require(try second.json()["sincronizados"] as? [[String: Any]])
            #expect(synced.count == 16)
            #expect(synced.prefix(8).allSatisfy { $0["duplicado"] as? Bool == true })
            #expect(synced.suffix(8).allSatisfy { $0["duplicado"] as? Bool == false })
            let stored = try await Self.customerMessages(api, chat.ticket)
            #expect(stored == ["hola"] + (1...16).map { "sin red \($0)" })
            #expect(try await Self.customerEvents(api, chat.ticket) == 17)
        }
    }

    /// 100 `mensaje` frames at once on the WebSocket: the burst is confirmed, the rest get `demasiados_mensajes`
    /// error frames, the socket stays open, and nothing is stored twice.
    @Test func webSocketFloodGetsErrorFrames() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let chat = try await api.guestChat("hola")
            let token = String(chat.authorization.split(separator: " ").last ?? "")
            let guest = LiveClient(url: try api.webSocketURL(ticket: chat.room, token: token))
            defer { guest.close() }
            #expect(await guest.wait(for: "connection_established") != nil)
            for index in 1...100 { guest.send("mensaje", ["mensaje": "flood \(index)", "client_id": "ws-\(index)"]) }
            #expect(
                await eventually(timeout: .seconds(60)) {
                    guest.frames("mensaje_confirmado").count + guest.frames("error").count >= 100
                })
            #expect(guest.frames("mensaje_confirmado").count == 8)
            let refused = guest.frames("error").filter { $0.data["codigo"] as? String == "demasiados_mensajes" }
            #expect(refused.count == 92)
            #expect(try await Self.customerMessages(api, chat.ticket).count == 9)
            #expect(try await Self.customerEvents(api, chat.ticket) == 9)
            // Still connected, and writing again once the burst window passed.
            api.clock.advance(by: 11)
            guest.send("mensaje", ["mensaje": "ya con calma", "client_id": "ws-calm"])
            #expect(
                await guest.wait(for: "mensaje_confirmado", timeout: .seconds(30)) {
                    $0["client_id"] as? String == "ws-calm"
                } != nil)
        }
    }

    // MARK: Uploads (test 15)

    /// 1,000 `file_upload_request` frames on one socket: at most the per-connection cap of grants is outstanding;
    /// spending one makes room for one more.
    @Test func uploadGrantsAreCappedPerConnection() async throws {
        try await APITestSystem.with(transport: .live) { api in
            let chat = try await api.guestChat("hola")
            let token = String(chat.authorization.split(separator: " ").last ?? "")
            let guest = LiveClient(url: try api.webSocketURL(ticket: chat.room, token: token))
            defer { guest.close() }
            #expect(await guest.wait(for: "connection_established") != nil)
            let request: [String: Any] = ["nombre_archivo": "f.png", "tamaño": 700, "tipo_mime": "image/png"]
            for _ in 1...1000 { guest.send("file_upload_request", request) }
            #expect(
                // Each frame re-reads the session and the policy: on a loaded two-core CI machine 1,000 take a while.
                await eventually(timeout: .seconds(120)) {
                    guest.frames("file_upload_authorized").count + guest.frames("error").count >= 1000
                })
            let grants = guest.frames("file_upload_authorized")
            #expect(grants.count == 5)
            #expect(guest.frames("error").allSatisfy { $0.data["codigo"] as? String == "demasiadas_subidas" })
            #expect(api.components.uploads.outstanding() == 5)

            let url = try #require(grants.first?.data["upload_url"] as? String)
            let uploaded = try await api.call(
                .post, url, body: Self.multipart(Self.png(1)), contentType: "multipart/form-data; boundary=B")
            #expect(uploaded.status == 201, Comment(rawValue: uploaded.text))
            guest.send("file_upload_request", request)
            #expect(await eventually { guest.frames("file_upload_authorized").count == 6 })
        }
    }

    /// Grants expire in order without scanning them all, and the instance holds at most `total`.
    @Test func grantsHaveAnInstanceCapAndExpire() throws {
        let clock = TestClock()
        var limits = UploadGrants.Limits()
        limits.total = 1000
        let grants = UploadGrants(clock: clock.wallClock, limits: limits)
        var tokens: [String] = []
        for index in 0..<1000 {
            tokens.append(try grants.grant(ticketID: 1, caller: .guest(ticketID: 1), connection: "c\(index % 300)"))
        }
        #expect(throws: UploadGrants.Refusal.instanceFull) {
            try grants.grant(ticketID: 1, caller: .guest(ticketID: 1), connection: "other")
        }
        #expect(grants.take(tokens[0], ticketID: 1) == .guest(ticketID: 1))
        #expect(grants.take(tokens[0], ticketID: 1) == nil)
        #expect(grants.outstanding() == 999)
        clock.advance(by: TimeInterval(UploadGrants.lifetime) + 1)
        #expect(grants.take(tokens[1], ticketID: 1) == nil)
        _ = try grants.grant(ticketID: 1, caller: .guest(ticketID: 1), connection: "c0")
        #expect(grants.outstanding() == 1)
        #expect(grants.outstanding(connection: "c1") == 0)
    }

    /// The ticket's quota: files past the count are 429, bytes past the total 413; the refused file is neither a
    /// row nor a file on disk, and its grant is still good.
    @Test func ticketQuotaRefusesAndStoresNothingPartially() async throws {
        try await APITestSystem.with(configure: {
            $0.filesPerTicket = 3
            $0.bytesPerTicket = 100 << 10
        }) { api in
            let chat = try await api.guestChat("hola")
            let uploads = api.components.uploads
            for index in 1...3 {
                let token = try uploads.grant(ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
                let reply = try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(index))
                #expect(reply.status == 201, Comment(rawValue: reply.text))
            }
            let token = try uploads.grant(ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
            let fourth = try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(4))
            #expect(fourth.status == 429, Comment(rawValue: fourth.text))
            #expect(fourth.failure?.detail?.contains("máximo de 3 archivos") == true)
            #expect(try await Self.attachmentRows(api, chat.ticket) == 3)
            #expect(Self.files(under: api.components.attachments.root) == (3, 0))
            #expect(uploads.holder(token, ticketID: chat.ticket) != nil)

            // Bytes: a second ticket with room for one 60 KB file but not two.
            let other = try await api.guestChat("otro")
            let first = try uploads.grant(ticketID: other.ticket, caller: .guest(ticketID: other.ticket))
            #expect(
                try await Self.upload(api, ticket: other.ticket, token: first, Self.png(5, size: 60 << 10)).status
                    == 201)
            let second = try uploads.grant(ticketID: other.ticket, caller: .guest(ticketID: other.ticket))
            let big = try await Self.upload(api, ticket: other.ticket, token: second, Self.png(6, size: 60 << 10))
            #expect(big.status == 413, Comment(rawValue: big.text))
            #expect(try await Self.attachmentRows(api, other.ticket) == 1)
            #expect(Self.files(under: api.components.attachments.root) == (4, 0))
        }
    }

    /// More uploads at once than the instance allows: 429 with `Retry-After`, the grant not spent.
    @Test func concurrentUploadsAreCapped() async throws {
        try await APITestSystem.with(configure: { $0.concurrentUploads = 1 }) { api in
            let chat = try await api.guestChat("hola")
            let uploads = api.components.uploads
            let token = try uploads.grant(ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
            #expect(uploads.beginUpload() == nil)
            let busy = try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(1))
            #expect(busy.status == 429, Comment(rawValue: busy.text))
            #expect(busy.headers[.retryAfter] != nil)
            uploads.endUpload()
            #expect(try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(1)).status == 201)
        }
    }

    // MARK: Disk watermark (test 15)

    /// Below the free-space watermark uploads and webhook photos are 507 with a JSON reason and nothing is
    /// written; once space is back (the reading is cached for a second) they go through again.
    @Test func lowDiskAnswers507AndRecovers() async throws {
        let free = Mutex<Int64>(100 << 20)
        try await APITestSystem.with(configure: {
            $0.minimumFreeDiskBytes = 512 << 20
            $0.freeDiskProbe = { _ in free.withLock { $0 } }
        }) { api in
            let chat = try await api.guestChat("hola")
            let token = try api.components.uploads.grant(ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
            let refused = try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(1))
            #expect(refused.status == 507, Comment(rawValue: refused.text))
            #expect(refused.failure?.detail?.contains("espacio") == true)
            let photo: [String: Any] = [
                "remitente": "5215550001111", "tipo": "imagen",
                "imagen_base64": Data(Self.png(2)).base64EncodedString(),
            ]
            let webhook = try await api.call(.post, "/webhook", authorization: Self.bridge, json: photo)
            #expect(webhook.status == 507, Comment(rawValue: webhook.text))
            #expect(Self.files(under: api.components.attachments.root) == (0, 0))

            free.withLock { $0 = 10 << 30 }
            // Within the second the cached reading still says full; after it, the new one lets files in.
            #expect(try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(1)).status == 507)
            api.clock.advance(by: 2)
            #expect(try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(1)).status == 201)
            #expect(try await api.call(.post, "/webhook", authorization: Self.bridge, json: photo).status == 200)
            #expect(Self.files(under: api.components.attachments.root) == (2, 0))
        }
    }

    /// The same on a real 8 MB tmpfs (needs root to mount; skipped, saying so, otherwise): the watermark gives
    /// 507 before the disk is full, a write that fills the disk anyway (watermark 0) is a 507 that leaves no
    /// temporary file, and freeing space lets uploads in again.
    @Test func realSmallFilesystemFillsUpCleanly() async throws {
        let mountPoint = NSTemporaryDirectory() + "mostrador-tmpfs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        guard Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint]) else {
            print("GuestAbuseTests.realSmallFilesystemFillsUpCleanly skipped: cannot mount a tmpfs (needs root)")
            return
        }
        defer { _ = Self.run("/bin/umount", [mountPoint]) }
        let filler = "\(mountPoint)/filler"

        // With a 2.5 MB watermark and 4 MB free: 1 MB files go in until less than 2.5 MB is left.
        try await APITestSystem.with(configure: { $0.minimumFreeDiskBytes = 5 << 19 }) { api in
            let root = "\(mountPoint)/attachments-watermark"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: api.components.attachments.root, withDestinationPath: root)
            try Data(count: 4 << 20).write(to: URL(fileURLWithPath: filler))
            let chat = try await api.guestChat("hola")
            let uploads = api.components.uploads
            var statuses: [Int] = []
            for index in 1...4 {
                api.clock.advance(by: 2)
                let token = try uploads.grant(ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
                statuses.append(
                    try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(index, size: 1 << 20)).status
                )
            }
            #expect(statuses == [201, 201, 507, 507])
            #expect(Self.files(under: root) == (2, 0))
            try FileManager.default.removeItem(atPath: filler)
            api.clock.advance(by: 2)
            let token = try uploads.grant(ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
            #expect(
                try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(9, size: 1 << 20)).status == 201)
            try FileManager.default.removeItem(atPath: root)
        }

        // Without a watermark the write itself runs out of space: 507, no temporary file, no row.
        try await APITestSystem.with(configure: { $0.minimumFreeDiskBytes = 0 }) { api in
            let root = "\(mountPoint)/attachments-full"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: api.components.attachments.root, withDestinationPath: root)
            try Data(count: 15 << 19).write(to: URL(fileURLWithPath: filler))
            let chat = try await api.guestChat("hola")
            let token = try api.components.uploads.grant(ticketID: chat.ticket, caller: .guest(ticketID: chat.ticket))
            let full = try await Self.upload(api, ticket: chat.ticket, token: token, Self.png(20, size: 1 << 20))
            #expect(full.status == 507, Comment(rawValue: full.text))
            #expect(Self.files(under: root) == (0, 0))
            #expect(try await Self.attachmentRows(api, chat.ticket) == 0)
            try FileManager.default.removeItem(atPath: filler)
        }
    }

    static func run(_ executable: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0
        } catch {
            return false
        }
    }

    // MARK: Text (tests 12 and 14)

    /// Names with 10,000 combining marks, bidi overrides or NUL: refused where a person types them (the guest
    /// profile, agent names), cleaned where a channel reports them (the WhatsApp push name).
    @Test func hostileNamesAreRefusedOrCleaned() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            let zalgo = "An" + String(repeating: "\u{0301}", count: 10_000) + "a"
            // Within the 16 KB body of complete_chat; the 10,000 marks are refused by the body limit itself (413).
            let shorterZalgo = "An" + String(repeating: "\u{0301}", count: 7_000) + "a"
            let override = "Ana \u{202E}ogeuL"
            let nul = "Ana\u{0}Luisa"
            for name in [
                shorterZalgo, override, nul, "Ana \u{2066}x\u{2069}", "Ana" + String(repeating: "\u{0301}", count: 5),
            ] {
                let started = try await api.call(.post, "/api/chat/start_chat/", json: ["initial_message": "hola"])
                let session = try started.decode(Answer.StartedChat.self).sessionID
                let reply = try await api.call(
                    .post, "/api/chat/complete_chat/",
                    json: [
                        "session_id": session, "email": "a@ejemplo.com", "full_name": name,
                        "phone_number": "+5215550001",
                    ])
                #expect(reply.status == 400, Comment(rawValue: reply.text))
                #expect(reply.failure?.fields?["full_name"] != nil)
            }
            // Vietnamese keeps its two marks per letter.
            _ = try await api.guestChat(name: "Nguyễn Thị Ánh")

            let admin = try await api.admin()
            let agent = try await api.call(
                .post, "/api/agents/", authorization: admin,
                json: ["username": "malicioso", "password": "password123", "first_name": override])
            #expect(agent.status == 400, Comment(rawValue: agent.text))

            for (index, name) in [zalgo, override, nul].enumerated() {
                let ticket = try await api.whatsapp("52155500020\(index)", "hola", name: name)
                let stored = try #require(
                    try await api.components.conversations.tickets.summary(id: ticket)?.customerName)
                #expect(stored.unicodeScalars.count <= TextRules.maximumNameScalars)
                #expect(!stored.unicodeScalars.contains { TextRules.isForbiddenInName($0) })
                #expect(stored.allSatisfy { TextRules.marks(in: $0) <= TextRules.maximumMarksPerCharacter })
                #expect(stored.unicodeScalars.starts(with: "An".unicodeScalars))
            }
        }
    }

    /// Message text has one limit for every path, in characters and in scalars; NUL is dropped, not stored.
    @Test func messageTextLimitsHoldEverywhere() async throws {
        try await APITestSystem.with { api in
            let chat = try await api.guestChat("hola")
            let marks = "ab" + String(repeating: "\u{0301}", count: 10_000)
            let refused = try await Self.guestSend(api, chat, marks)
            #expect(refused.status == 400, Comment(rawValue: refused.text))
            let tooLong = try await Self.guestSend(api, chat, String(repeating: "x", count: 4097))
            #expect(tooLong.status == 400)
            #expect(try await Self.guestSend(api, chat, "con\u{0}nulo").status == 201)
            #expect(try await Self.customerMessages(api, chat.ticket).last == "connulo")
            let sync = try await api.call(
                .post, "/api/soporte/tickets/\(chat.room)/chat/sync/", authorization: chat.authorization,
                json: ["messages": [["client_id": "m", "contenido": marks]]])
            #expect(try sync.json()["errores"] as? [[String: Any]] != nil)
            #expect(try await Self.customerMessages(api, chat.ticket).count == 2)
        }
    }

    /// Webhook text (and a photo's caption) over the limit is 413, never stored cut; `/tickets` stays small.
    @Test func webhookTextOverTheLimitIsRefused() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            func webhook(_ body: [String: Any]) async throws -> APITestSystem.Reply {
                try await api.call(.post, "/webhook", authorization: Self.bridge, json: body)
            }
            let cases: [[String: Any]] = [
                ["remitente": "5215550003001", "contenido": String(repeating: "x", count: 4097)],
                ["remitente": "5215550003002", "contenido": String(repeating: "y", count: 900_000)],
                ["remitente": "5215550003003", "contenido": "a" + String(repeating: "\u{0301}", count: 20_000)],
                [
                    "remitente": "5215550003004", "tipo": "imagen",
                    "imagen_base64": Data(Self.png(1)).base64EncodedString(),
                    "caption": String(repeating: "z", count: 5000),
                ],
            ]
            for body in cases {
                let reply = try await webhook(body)
                #expect(reply.status == 413, Comment(rawValue: String(reply.text.prefix(300))))
                #expect(reply.failure?.detail?.contains("excede 4096") == true)
            }
            #expect(Self.files(under: api.components.attachments.root) == (0, 0))
            #expect(
                try await webhook(["remitente": "5215550003005", "contenido": String(repeating: "w", count: 4096)])
                    .status == 200)
            let tickets = try await api.call(.get, "/tickets", authorization: try await api.admin())
            #expect(tickets.status == 200)
            #expect(try tickets.list().count == 1)
            #expect(tickets.body.count < 32 << 10)
        }
    }
}
