import MostradorContracts
import MostradorSQL

/// Where a ticket is in its life: `new` (nobody answered yet), `open`, `waiting` (on the customer), `resolved`
/// (reopens when the customer writes again), `closed` (final).
enum TicketStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case new
    case open
    case waiting
    case resolved
    case closed

    /// Spanish names the seed's panel filters use.
    static let aliases: [String: TicketStatus] = [
        "nuevo": .new, "abierto": .open, "en_espera": .waiting, "esperando": .waiting, "resuelto": .resolved,
        "cerrado": .closed,
    ]

    init?(parsing text: String) {
        let lowered = text.lowercased().trimmingCharacters(in: .whitespaces)
        guard let status = TicketStatus(rawValue: lowered) ?? Self.aliases[lowered] else { return nil }
        self = status
    }

    var isFinished: Bool { self == .resolved || self == .closed }
}

/// A chat room's status as seed 002 shows it: nobody took it yet, someone did, resolved, closed.
enum RoomStatus: String, Sendable, CaseIterable {
    case waiting
    case active
    case resolved
    case closed

    init(ticket status: TicketStatus, assigned: Bool) {
        switch status {
        case .resolved: self = .resolved
        case .closed: self = .closed
        case .new, .open, .waiting: self = assigned ? .active : .waiting
        }
    }
}

/// What a message carries.
enum MessageType: String, Codable, Sendable, DatabaseValueConvertible {
    case text
    case image
    case file

    init(mime: String) { self = mime.hasPrefix("image/") ? .image : .file }
}

/// The language a customer writes in; user-facing text follows it.
enum Language: String, Codable, Sendable, DatabaseValueConvertible {
    case es
    case en
}

extension MessageRole: DatabaseValueConvertible {}
extension Channel: DatabaseValueConvertible {}
extension DeliveryStatus: DatabaseValueConvertible {}
extension TicketCategory: DatabaseValueConvertible {}
