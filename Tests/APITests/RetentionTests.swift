import Foundation
import MostradorSQL
import Testing

@testable import MostradorAPI

/// Retention (review R14): each deletion against the api's real SQLite database and attachment folder, with the
/// sweep's clock given explicitly.
@Suite("Retention: old ids, read notifications, orphaned and temporary files")
struct RetentionTests {
    func retention(_ api: APITestSystem, days: Int = 90) -> Retention {
        Retention(committer: api.components.committer, attachmentsRoot: api.components.attachments.root, days: days)
    }

    @Test func oldProcessedIdsAndOldReadNotificationsGoUnreadAndRecentOnesStay() async throws {
        try await APITestSystem.with { api in
            let now = Date()
            let old = now.addingTimeInterval(-91 * 86_400)
            let recent = now.addingTimeInterval(-89 * 86_400)
            let agentID = try await api.pool.read { db in try Int64.fetchOne(db, sql: "SELECT id FROM agents")! }
            try await api.pool.write { db in
                for (id, date) in [("old", old), ("recent", recent)] {
                    try db.execute(
                        sql: "INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('c', ?, ?)",
                        arguments: [id, date])
                }
                for (uuid, read, date) in [
                    ("old-read", true, old), ("old-unread", false, old), ("new-read", true, recent),
                ] {
                    try db.execute(
                        sql: """
                            INSERT INTO notifications (uuid, recipient, agent_id, kind, title, message, is_read, created_at)
                            VALUES (?, 'agent', ?, 'new_chat', 't', 'm', ?, ?)
                            """, arguments: [uuid, agentID, read, date])
                }
            }
            let report = try await retention(api).sweep(now: now)
            #expect(report.processedMessages == 1)
            #expect(report.notifications == 1)
            let left = try await api.pool.read { db in
                (
                    try String.fetchAll(db, sql: "SELECT message_id FROM processed_messages"),
                    try String.fetchAll(db, sql: "SELECT uuid FROM notifications ORDER BY uuid")
                )
            }
            #expect(left.0 == ["recent"])
            #expect(left.1 == ["new-read", "old-unread"])
            // A sweep 0 days long keeps everything.
            #expect(
                try await retention(api, days: 0).sweep(now: now.addingTimeInterval(1000 * 86_400)).notifications == 0)
            // The consumer forgot the old id: the same message would be applied again (it is 90 days late).
            let claimed = try await api.pool.write { db in try ProcessedMessages.claim("old", consumer: "c", db: db) }
            #expect(claimed)
        }
    }

    @Test func orphanedFilesOlderThanADayAndStaleTemporaryFilesAreRemoved() async throws {
        try await APITestSystem.with(configure: { $0.intake = false }) { api in
            // A file a row points to (a photo through the webhook).
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 100)
            let reply = try await api.call(
                .post, "/webhook", authorization: "Bearer \(APITestSystem.webhookToken)",
                json: [
                    "remitente": "5215550007777", "tipo": "imagen", "imagen_base64": Data(png).base64EncodedString(),
                ])
            #expect(reply.status == 200, "\(reply.text)")
            let store = api.components.attachments
            let used = try await api.pool.read { db in try String.fetchOne(db, sql: "SELECT sha256 FROM attachments")! }
            // Two files nobody points to (a refused upload): one old, one just written; and two temporary files.
            let orphanOld = try store.store([0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], filename: nil)
            let orphanNew = try store.store([0xFF, 0xD8, 0xFF, 0xE0, 4, 5, 6], filename: nil)
            let folder = store.path(for: used).deletingLastPathComponent()
            let staleTemporary = folder.appendingPathComponent(".\(used).stale").path
            let freshTemporary = folder.appendingPathComponent(".\(used).fresh").path
            #expect(FileManager.default.createFile(atPath: staleTemporary, contents: Data([1])))
            #expect(FileManager.default.createFile(atPath: freshTemporary, contents: Data([1])))

            let now = Date()
            let twoDaysAgo = now.addingTimeInterval(-2 * 86_400)
            for path in [store.path(for: used).path, store.path(for: orphanOld.sha256).path, staleTemporary] {
                try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: path)
            }
            let report = try await retention(api).sweep(now: now)
            #expect(report.orphanedFiles == 1)
            #expect(report.temporaryFiles == 1)
            let exists = { (path: String) in FileManager.default.fileExists(atPath: path) }
            #expect(exists(store.path(for: used).path))
            #expect(!exists(store.path(for: orphanOld.sha256).path))
            #expect(exists(store.path(for: orphanNew.sha256).path))
            #expect(!exists(staleTemporary))
            #expect(exists(freshTemporary))
            // The photo a row points to is still served.
            let items = try await api.call(
                .get, "/ticket/\(try reply.decode(Answer.Received.self).ticketID)/evidencias",
                authorization: api.admin()
            ).decode(Answer.Evidence.self).evidencias
            let download = try await api.call(.get, try #require(items.first?.url), authorization: api.admin())
            #expect(Array(download.body) == png)
        }
    }
}
