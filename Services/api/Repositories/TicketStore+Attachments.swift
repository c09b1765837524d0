import Foundation
import GRDB
import MostradorContracts

extension TicketStore {
    /// A file uploaded in the live chat, as a message of whoever uploaded it.
    func addAttachmentMessage(ticketID: Int64, attachment: StoredAttachment, caller: Caller) async throws -> Int64 {
        try await committer.write { db in
            let now = Date()
            let (role, agentID): (String, Int64?) =
                switch caller {
                case .agent(let agent): ("tecnico", agent.id)
                case .guest: ("user", nil)
                }
            let content =
                attachment.filename.map { "📎 \($0)" } ?? (attachment.messageType == "image" ? "📷 Foto" : "📎 Archivo")
            try db.execute(
                sql:
                    "INSERT INTO messages (ticket_id, role, content, type, agent_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [ticketID, role, content, attachment.messageType, agentID, now])
            let messageID = db.lastInsertedRowID
            try AttachmentStore.link(attachment, ticketID: ticketID, messageID: messageID, caption: nil, db: db)
            try db.execute(
                sql: "UPDATE tickets SET last_message_at = ?, updated_at = ? WHERE id = ?",
                arguments: [now, now, ticketID])
            return messageID
        }
    }
}
