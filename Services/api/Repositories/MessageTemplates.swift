import Foundation
import MostradorContracts
import MostradorSQL
import MostradorStorage

/// The shop's message templates, kept in the api: the technicians' ready-made messages (`mensaje`: "Notificar" and
/// quick replies, with `{nombre}` and `{ticket}`, in Spanish or English), and the WhatsApp templates registered with
/// Meta (`whatsapp`: body with `{{1}}`…, with their approval state as Meta decided it; outside the Cloud API's
/// customer-service window only an approved one is delivered, and the panel offers these then).
struct MessageTemplate: Sendable, Equatable {
    enum Kind: String, Sendable, CaseIterable, Codable {
        case message = "mensaje"
        case whatsapp
    }

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
    let kind: Kind
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
        kind = Kind(rawValue: row["kind"]) ?? .whatsapp
        name = row["name"]
        language = row["language"]
        category = row["category"]
        body = row["body"]
        status = Status(rawValue: row["status"]) ?? .pending
        updatedAt = row["updated_at"]
    }

    /// The placeholders a ready-made message may use.
    static let messageFields = ["nombre", "ticket"]

    /// A ready-made message filled in (`{nombre}`, `{ticket}`).
    func fill(customerName: String?, ticketID: Int64) -> String {
        let fallback = language == "en" ? "customer" : "cliente"
        return body.replacingOccurrences(of: "{nombre}", with: customerName ?? fallback)
            .replacingOccurrences(of: "{ticket}", with: String(ticketID))
    }

    /// A ready-made message's rules: a name of 1 to 100 characters, `es` or `en`, a body of 1 to 4,096 characters
    /// whose `{…}` are only `{nombre}` and `{ticket}`.
    static func checkMessage(name: String, language: String, body: String) throws(Problem) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 100, !trimmed.contains(where: \.isNewline) else {
            throw .invalid("'nombre' debe tener de 1 a 100 caracteres, en una línea")
        }
        guard ["es", "en"].contains(language) else { throw .invalid("'idioma' debe ser es o en") }
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, body.count <= 4096 else {
            throw .invalid("'cuerpo' debe tener de 1 a 4096 caracteres")
        }
        var rest = body[...]
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let field = String(after[after.startIndex..<close])
            if !field.contains(where: { $0 == " " || $0 == "{" }), !field.isEmpty, !messageFields.contains(field) {
                throw .invalid("'cuerpo' solo admite {nombre} y {ticket}; {\(field)} no existe")
            }
            rest = after[after.index(after: close)...]
        }
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
struct MessageTemplates: Sendable {
    let reader: SQLDatabase
    let committer: SQLCommitter

    func all(kind: MessageTemplate.Kind? = nil) async throws -> [MessageTemplate] {
        try await reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM templates WHERE CAST(?1 AS TEXT) IS NULL OR kind = ?1 ORDER BY kind, lower(name), language
                    """,
                arguments: [kind?.rawValue]
            ).map(MessageTemplate.init(row:))
        }
    }

    func find(_ id: Int64) async throws -> MessageTemplate? {
        try await reader.read { db in try Self.find(id, db: db) }
    }

    static func find(_ id: Int64, db: Database) throws -> MessageTemplate? {
        try Row.fetchOne(db, sql: "SELECT * FROM templates WHERE id = ?", arguments: [id]).map(
            MessageTemplate.init(row:))
    }

    /// The ready-made message `name` (any case) in `language`, else in Spanish.
    func message(named name: String, language: String) async throws -> MessageTemplate? {
        try await reader.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT * FROM templates WHERE kind = 'mensaje' AND lower(name) = lower(?) AND language IN (?, 'es')
                    ORDER BY language = ? DESC LIMIT 1
                    """,
                arguments: [name, language, language]
            ).map(MessageTemplate.init(row:))
        }
    }

    /// Registers a template; nil when one of that kind, name and language exists.
    func add(
        kind: MessageTemplate.Kind = .whatsapp, name: String, language: String, category: String, body: String,
        status: MessageTemplate.Status
    ) async throws -> MessageTemplate? {
        try await committer.write { db in
            let now = Date()
            try db.execute(
                sql: """
                    INSERT INTO templates (kind, name, language, category, body, status, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, name, language) DO NOTHING
                    """,
                arguments: [kind.rawValue, name, language, category, body, status.rawValue, now, now])
            guard db.changesCount == 1 else { return nil }
            return try Self.find(db.lastInsertedRowID, db: db)
        }
    }

    enum Change: Sendable {
        case status(MessageTemplate.Status)
        /// A new name, language, body (and category): a WhatsApp template edited goes back to `pending`, as Meta
        /// reviews every edit.
        case content(name: String, language: String, body: String, category: String)
    }

    enum Outcome: Sendable {
        case updated(MessageTemplate)
        case missing
        case duplicate
    }

    func update(_ id: Int64, _ change: Change) async throws -> Outcome {
        try await committer.write { db in
            guard let current = try Self.find(id, db: db) else { return .missing }
            switch change {
            case .status(let status):
                try db.execute(
                    sql: "UPDATE templates SET status = ?, updated_at = ? WHERE id = ?",
                    arguments: [status.rawValue, Date(), id])
            case .content(let name, let language, let body, let category):
                let clash = try Int64.fetchOne(
                    db, sql: "SELECT id FROM templates WHERE kind = ? AND name = ? AND language = ? AND id != ?",
                    arguments: [current.kind.rawValue, name, language, id])
                guard clash == nil else { return .duplicate }
                let changed = name != current.name || language != current.language || body != current.body
                let status = current.kind == .whatsapp && changed ? MessageTemplate.Status.pending : current.status
                try db.execute(
                    sql: """
                        UPDATE templates SET name = ?, language = ?, body = ?, category = ?, status = ?, updated_at = ?
                        WHERE id = ?
                        """,
                    arguments: [name, language, body, category, status.rawValue, Date(), id])
            }
            return try Self.find(id, db: db).map(Outcome.updated) ?? .missing
        }
    }

    func delete(_ id: Int64) async throws -> Bool {
        try await committer.write { db in
            try db.execute(sql: "DELETE FROM templates WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    /// The first start: the ready-made messages of the file (`MOSTRADOR_TEMPLATES_FILE`, or the bundled one) become
    /// the api's, once; from then on they are edited through `/api/templates`.
    static func seedMessages(from file: Templates, db: Database) throws {
        let existing = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM templates WHERE kind = 'mensaje'") ?? 0
        guard existing == 0 else { return }
        let now = Date()
        for (name, variants) in file.byName.sorted(by: { $0.key < $1.key }) {
            for (language, body) in variants.sorted(by: { $0.key < $1.key }) where ["es", "en"].contains(language) {
                try db.execute(
                    sql: """
                        INSERT INTO templates (kind, name, language, category, body, status, created_at, updated_at)
                        VALUES ('mensaje', ?, ?, '', ?, 'approved', ?, ?) ON CONFLICT DO NOTHING
                        """,
                    arguments: [name, language, body, now, now])
            }
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
