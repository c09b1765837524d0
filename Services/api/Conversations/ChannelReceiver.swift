import Foundation
import Hummingbird
import Logging
import NIOCore

/// What every WhatsApp channel's webhook does with a customer message once it has read it: the new-ticket cap,
/// the conversation, and the file it wrote for it removed again when the message is not kept.
struct ChannelReceiver: Sendable {
    let conversations: Conversations
    let attachments: AttachmentStore
    /// Whether the intake assistant runs on new WhatsApp tickets.
    let intake: Bool
    /// New tickets one sender may open per hour (0: no cap); see `NewTicketCap`.
    var newTicketsPerSenderHour = 0

    /// Stores `inbound` (opening or continuing the customer's ticket); false when the sender is over their
    /// new-ticket cap (the message is not kept; a channel that retries every error must still get a 2xx).
    func receive(_ inbound: Conversations.Inbound, logger: Logger) async throws -> Bool {
        var inbound = inbound
        if newTicketsPerSenderHour > 0 {
            inbound.newTicketCap = NewTicketCap(
                limit: newTicketsPerSenderHour, since: conversations.clock.now().addingTimeInterval(-3600))
        }
        do {
            _ = try await conversations.receive(inbound, intake: intake)
            return true
        } catch let exceeded as NewTicketCap.Exceeded {
            await discard(inbound.attachment)
            logger.warning(
                "WhatsApp sender over its new-ticket cap; message not stored",
                metadata: ["sender": "\(inbound.sender.display)", "limit": "\(exceeded.limit)"])
            return false
        } catch {
            await discard(inbound.attachment)
            throw error
        }
    }

    /// A file written for a message that is not kept (unless another message shares its content).
    func discard(_ attachment: StoredAttachment?) async {
        if let attachment { try? await attachments.discard(attachment) }
    }

    /// Bytes a channel handed over (downloaded, or base64 in the event) stored as evidence; nil, with the reason
    /// logged, when they cannot be kept (type not accepted, too large, disk nearly full): the message then keeps
    /// its line of text.
    func store(_ bytes: [UInt8], filename: String?, logger: Logger, context: Logger.Metadata) -> StoredAttachment? {
        do {
            return try attachments.store(bytes, filename: filename)
        } catch {
            logger.warning(
                "could not keep a WhatsApp file; kept as text", metadata: context.merging(["error": "\(error)"]) { $1 })
            return nil
        }
    }

    /// The message text a channel's caption or body gives: cleaned by `TextRules`, cut (never refused) at the
    /// limit, `fallback` when nothing is left. Channels cannot be told "too long": the customer already sent it.
    static func text(_ text: String?, fallback: String? = nil) -> String? {
        guard let text else { return fallback }
        do {
            return try TextRules.message(text)
        } catch .tooLong {
            return (try? TextRules.message(String(text.prefix(TextRules.maximumMessageLength - 1)) + "…")) ?? fallback
        } catch .empty {
            return fallback
        } catch {
            return "[Mensaje con caracteres no admitidos]"
        }
    }

    /// An event of `channel` whose envelope was already read: its payload, or a 400 that says what is wrong.
    static func decode<T: Decodable>(_ type: T.Type, _ body: ByteBuffer, channel: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: body)
        } catch {
            throw APIError.badRequest("Evento de \(channel) no válido: \(error)")
        }
    }

    /// A kind of message the api keeps as a line of text, with its caption: `📷 Foto: la pantalla`.
    static func labelled(_ label: String, _ caption: String?) -> String {
        guard let caption, !caption.isEmpty else { return label }
        return "\(label): \(caption)"
    }

    /// `Foto` / `Archivo` as the seed webhook names a file without a caption.
    static func fileLabel(_ attachment: StoredAttachment) -> String {
        attachment.messageType == "file" ? "📎 Archivo" : "📷 Foto"
    }
}
