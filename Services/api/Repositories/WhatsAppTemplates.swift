import Foundation
import GRDB
import MostradorContracts
import MostradorStorage

/// The WhatsApp message templates the shop has registered with Meta (name, language, body with `{{1}}`…), with
/// their approval state as Meta decided it. Outside the customer-service window the Cloud API delivers only an
/// approved template; the panel offers these then.
struct WhatsAppTemplate: Sendable, Equatable {
    enum Status: String, Sendable, CaseIterable, Codable {
        /// Submitted, not yet reviewed by Meta: cannot be sent.
        case pending
        case approved
        case rejected
        /// Meta paused it for its quality rating: cannot be sent until it is approved again.
        case paused
        case disabled
    }

    let id: Int64
    let name: String
    let language: String
    let category: String
    let body: String
    let status: Status
    let updatedAt: Date

    /// How many parameters the body takes: its `{{n}}` are numbered 1…n.
    var parameterCount: Int { Self.placeholders(in: body).max() ?? 0 }

    init(row: Row) {
        id = row["id"]
        name = row["name"]
        language = row["language"]
        category = row["category"]
        body = row["body"]
        status = Status(rawValue: row["status"]) ?? .pending
        updatedAt = row["updated_at"]
    }

    /// The body with its parameters in place, as the customer reads it.
    func render(_ parameters: [String]) -> String {
        var text = body
        for (index, value) in parameters.enumerated().reversed() {
            text = text.replacingOccurrences(of: "{{\(index + 1)}}", with: value)
        }
        return text
    }

    // MARK: Rules (Meta's, checked before anything is stored)

    enum Problem: Error, Equatable {
        case invalid(String)
    }

    /// Lowercase letters, digits and underscores, at most 512 (Meta's rule for template names).
    static func checkName(_ name: String) throws(Problem) {
        guard !name.isEmpty, name.utf8.count <= 512,
            name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" })
        else {
            throw .invalid("'nombre' debe tener solo minúsculas, dígitos y guiones bajos (como en Meta), hasta 512")
        }
    }

    /// `es`, `es_MX`, `en_US`, `pt_BR`…
    static func checkLanguage(_ code: String) throws(Problem) {
        let parts = code.split(separator: "_", omittingEmptySubsequences: false)
        let valid =
            (1...2).contains(parts.count) && parts[0].count == 2 && parts[0].allSatisfy { $0.isASCII && $0.isLowercase }
            && (parts.count == 1 || (parts[1].count == 2 && parts[1].allSatisfy { $0.isASCII && $0.isUppercase }))
        guard valid else { throw .invalid("'idioma' debe ser un código de Meta como es, es_MX o en_US") }
    }

    /// At most 1,024 characters; its `{{n}}` numbered from 1 without gaps.
    static func checkBody(_ body: String) throws(Problem) {
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, body.count <= 1024 else {
            throw .invalid("'cuerpo' debe tener de 1 a 1024 caracteres")
        }
        let numbers = Set(placeholders(in: body))
        guard numbers == Set(numbers.isEmpty ? [] : Array(1...(numbers.max() ?? 0))) else {
            throw .invalid("Los parámetros de 'cuerpo' deben ser {{1}}, {{2}}… sin saltos")
        }
    }

    /// The values for a send: as many as the body takes, none empty, none with a newline or a tab (Meta refuses
    /// those in body parameters), each at most 1,024 characters.
    func checkParameters(_ values: [String]) throws(Problem) {
        guard values.count == parameterCount else {
            throw .invalid("La plantilla '\(name)' lleva \(parameterCount) parámetro(s); llegaron \(values.count)")
        }
        for (index, value) in values.enumerated() {
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, value.count <= 1024, !value.contains(where: { $0.isNewline || $0 == "\t" })
            else {
                throw .invalid("El parámetro {{\(index + 1)}} debe tener de 1 a 1024 caracteres, sin saltos de línea")
            }
        }
    }

    /// The numbers of the `{{n}}` placeholders in `text`, in order.
    static func placeholders(in text: String) -> [Int] {
        var numbers: [Int] = []
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "}}") else { break }
            if let number = Int(rest[rest.startIndex..<close.lowerBound]), number > 0, number <= 100 {
                numbers.append(number)
            }
            rest = rest[close.upperBound...]
        }
        return numbers
    }
}

/// Where the templates are stored.
struct WhatsAppTemplates: Sendable {
    let reader: DatabasePool
    let committer: GroupCommitter

    func all() async throws -> [WhatsAppTemplate] {
        try await reader.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM whatsapp_templates ORDER BY name, language")
                .map(WhatsAppTemplate.init(row:))
        }
    }

    func find(_ id: Int64) async throws -> WhatsAppTemplate? {
        try await reader.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM whatsapp_templates WHERE id = ?", arguments: [id])
                .map(WhatsAppTemplate.init(row:))
        }
    }

    /// Registers a template; nil when one with that name and language exists.
    func add(name: String, language: String, category: String, body: String, status: WhatsAppTemplate.Status)
        async throws -> WhatsAppTemplate?
    {
        try await committer.write { db in
            let now = Date()
            try db.execute(
                sql: """
                    INSERT INTO whatsapp_templates (name, language, category, body, status, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, language) DO NOTHING
                    """,
                arguments: [name, language, category, body, status.rawValue, now, now])
            guard db.changesCount == 1 else { return nil }
            return try Row.fetchOne(
                db, sql: "SELECT * FROM whatsapp_templates WHERE id = ?", arguments: [db.lastInsertedRowID]
            ).map(WhatsAppTemplate.init(row:))
        }
    }

    /// Records Meta's decision on a template; nil when there is no such template.
    func setStatus(_ id: Int64, _ status: WhatsAppTemplate.Status) async throws -> WhatsAppTemplate? {
        try await committer.write { db in
            try db.execute(
                sql: "UPDATE whatsapp_templates SET status = ?, updated_at = ? WHERE id = ?",
                arguments: [status.rawValue, Date(), id])
            return try Row.fetchOne(db, sql: "SELECT * FROM whatsapp_templates WHERE id = ?", arguments: [id])
                .map(WhatsAppTemplate.init(row:))
        }
    }
}

/// The Cloud API's customer-service window: for 24 hours after the customer's last message a business may write
/// freely; after that only an approved template reaches them (else Graph error 131047). WhatsApp Web channels (the
/// seed bridge, WAHA, Evolution) have no such window.
struct ServiceWindow: Sendable, Equatable {
    static let length: TimeInterval = 24 * 3600

    /// Whether the conversation's channel has a window at all.
    let applies: Bool
    /// When it closes (or closed): the customer's last WhatsApp message + 24 h; nil when they never wrote.
    let closesAt: Date?

    func isOpen(at now: Date) -> Bool { !applies || (closesAt.map { now < $0 } ?? false) }

    /// The window of a WhatsApp ticket (nil for a web chat): the customer's last message on any of their WhatsApp
    /// tickets counts, as Meta counts per person and business number.
    static func of(_ ticket: TicketFacts, db: Database) throws -> ServiceWindow? {
        guard ticket.channel == .whatsapp else { return nil }
        guard WhatsAppChannel(command: ticket.replyChannel) == .cloudAPI else {
            return ServiceWindow(applies: false, closesAt: nil)
        }
        let last = try Date.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT MAX(m.created_at) FROM messages m JOIN tickets t ON t.id = m.ticket_id
                    WHERE t.customer_id = ? AND t.channel = 'whatsapp' AND m.role = 'user'
                    """),
            arguments: [ticket.customerID])
        return ServiceWindow(applies: true, closesAt: last?.addingTimeInterval(length))
    }
}
