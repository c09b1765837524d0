import Foundation
import MostradorSQL

/// The satisfaction survey (CSAT): when a ticket is first resolved, the customer is asked to rate the help from 1 to
/// 5 — on WhatsApp by answering with a number (and, if they like, a comment in the same message), on the web chat
/// with its buttons (`POST /api/chat/rate/`). An answer is stored once per ticket, does not reopen the ticket, and
/// counts for the agent who had it. A WhatsApp conversation whose 24-hour window has closed is not asked (Meta would
/// refuse free text).
enum Satisfaction {
    static let question = [
        "es":
            "Dimos tu caso por resuelto. ¿Cómo calificarías la atención que recibiste? Responde con un número del 1 (mala) al 5 (excelente); si quieres, agrega un comentario.",
        "en":
            "We marked your case as resolved. How would you rate the help you got? Answer with a number from 1 (poor) to 5 (excellent); add a comment if you like.",
    ]
    static let thanks = [
        "es": "¡Gracias por tu calificación! Nos ayuda a mejorar.",
        "en": "Thank you for your rating! It helps us improve.",
    ]

    /// Asks, inside the resolving transaction, unless this ticket was asked already. Returns whether it asked.
    @discardableResult
    static func request(_ ticket: TicketFacts, agentID: Int64?, now: Date, db: Database) throws -> Bool {
        if ticket.channel == .whatsapp {
            guard let window = try ServiceWindow.of(ticket, db: db), window.isOpen(at: now) else { return false }
        }
        try db.execute(
            sql: """
                INSERT INTO csat_surveys (ticket_id, agent_id, channel, requested_at) VALUES (?, ?, ?, ?)
                ON CONFLICT DO NOTHING
                """, arguments: [ticket.id, agentID, ticket.channel.rawValue, now])
        guard db.changesCount == 1 else { return false }
        let text = question[ticket.language] ?? question["es"] ?? ""
        _ = try Conversations.queueOutbound(NewMessage(role: .assistant, content: text), on: ticket, db: db)
        return true
    }

    /// Whether the ticket's survey waits for an answer.
    static func pending(ticketID: Int64, db: Database) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT rating IS NULL FROM csat_surveys WHERE ticket_id = ?", arguments: [ticketID]) ?? false
    }

    /// A rating in what a customer wrote: a leading digit 1–5 or one to five stars (⭐), and the rest as a comment.
    static func parse(_ text: String) -> (rating: Int, comment: String?)? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        var rest: Substring
        let rating: Int
        if let first = trimmed.first, let digit = first.wholeNumberValue, (1...5).contains(digit),
            trimmed.dropFirst().first.map({ !$0.isNumber }) ?? true
        {
            rating = digit
            rest = trimmed.dropFirst()
        } else {
            let stars = trimmed.prefix { $0 == "⭐" || $0 == "★" }
            guard (1...5).contains(stars.count) else { return nil }
            rating = stars.count
            rest = trimmed.dropFirst(stars.count)
        }
        rest = rest.drop { $0.isWhitespace || "-,.:;/)".contains($0) }
        // "5 estrellas", "4/5": still just the rating.
        for filler in ["estrellas", "estrella", "stars", "star", "5"] where rest.lowercased().hasPrefix(filler) {
            rest = rest.dropFirst(filler.count).drop { $0.isWhitespace || "-,.:;".contains($0) }
        }
        let comment = rest.trimmingCharacters(in: .whitespacesAndNewlines)
        return (rating, comment.isEmpty ? nil : String(comment.prefix(1000)))
    }

    /// Stores the answer once; false when there was no pending survey.
    static func answer(ticketID: Int64, rating: Int, comment: String?, now: Date, db: Database) throws -> Bool {
        try db.execute(
            sql: """
                UPDATE csat_surveys SET rating = ?, comment = ?, answered_at = ? WHERE ticket_id = ? AND rating IS NULL
                """, arguments: [rating, comment, now, ticketID])
        return db.changesCount == 1
    }

    /// Ratings in a period: overall, per agent and per day, with the latest comments.
    struct Report: Sendable {
        struct Group: Sendable {
            let key: String
            let agentID: Int64?
            let responses: Int
            let average: Double?
        }

        struct Comment: Sendable {
            let ticketID: Int64
            let rating: Int
            let comment: String
            let agent: String?
            let at: Date
        }

        let asked: Int
        let responses: Int
        let average: Double?
        let distribution: [Int]
        let perAgent: [Group]
        let perDay: [Group]
        let comments: [Comment]
    }

    static func report(since: Date, until: Date, db: Database) throws -> Report {
        let range: StatementArguments = [since, until]
        let asked =
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM csat_surveys WHERE requested_at >= ? AND requested_at < ?",
                arguments: range) ?? 0
        let answered = "FROM csat_surveys s WHERE s.rating IS NOT NULL AND s.answered_at >= ? AND s.answered_at < ?"
        var distribution = [0, 0, 0, 0, 0]
        for row in try Row.fetchAll(
            db, sql: "SELECT rating, COUNT(*) AS n \(answered) GROUP BY rating", arguments: range)
        {
            let rating: Int = row["rating"]
            if (1...5).contains(rating) { distribution[rating - 1] = row["n"] }
        }
        let responses = distribution.reduce(0, +)
        let total = distribution.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
        let perAgent = try Row.fetchAll(
            db,
            sql: """
                SELECT s.agent_id, COALESCE(a.username, '') AS name, COUNT(*) AS n, AVG(s.rating) AS average
                FROM csat_surveys s LEFT JOIN agents a ON a.id = s.agent_id
                WHERE s.rating IS NOT NULL AND s.answered_at >= ? AND s.answered_at < ?
                GROUP BY s.agent_id, a.username ORDER BY n DESC, name
                """, arguments: range
        ).map { Report.Group(key: $0["name"], agentID: $0["agent_id"], responses: $0["n"], average: $0["average"]) }
        let perDay = try Row.fetchAll(
            db,
            sql:
                "SELECT date(s.answered_at) AS day, COUNT(*) AS n, AVG(s.rating) AS average \(answered) GROUP BY day ORDER BY day",
            arguments: range
        ).map { Report.Group(key: $0["day"], agentID: nil, responses: $0["n"], average: $0["average"]) }
        let comments = try Row.fetchAll(
            db,
            sql: """
                SELECT s.ticket_id, s.rating, s.comment, s.answered_at, a.username
                FROM csat_surveys s LEFT JOIN agents a ON a.id = s.agent_id
                WHERE s.comment IS NOT NULL AND s.answered_at >= ? AND s.answered_at < ?
                ORDER BY s.answered_at DESC LIMIT 20
                """, arguments: range
        ).map {
            Report.Comment(
                ticketID: $0["ticket_id"], rating: $0["rating"], comment: $0["comment"], agent: $0["username"],
                at: $0["answered_at"])
        }
        return Report(
            asked: asked, responses: responses, average: responses == 0 ? nil : Double(total) / Double(responses),
            distribution: distribution, perAgent: perAgent, perDay: perDay, comments: comments)
    }
}
