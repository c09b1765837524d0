import Foundation
import MostradorSQL

/// Opening hours (admin setting `business_hours`): a week of intervals in a time zone, and holidays. Outside them a
/// customer who writes gets the away message once per ticket (the intake still runs), the ticket records that it
/// arrived out of hours, and the dashboard also counts first-response times in business time.
struct BusinessHours: Codable, Sendable, Equatable {
    var enabled = false
    /// An IANA zone (`America/Mexico_City`).
    var timeZone = "America/Mexico_City"
    /// ISO weekday (`"1"` Monday … `"7"` Sunday) → intervals `["09:00", "18:00"]` (`"24:00"` ends the day).
    var week: [String: [[String]]] = [
        "1": [["09:00", "18:00"]], "2": [["09:00", "18:00"]], "3": [["09:00", "18:00"]], "4": [["09:00", "18:00"]],
        "5": [["09:00", "18:00"]], "6": [["09:00", "14:00"]], "7": [],
    ]
    /// Closed days, `YYYY-MM-DD` in the zone.
    var holidays: [String] = []
    /// What the customer gets out of hours (nil: the default, in the ticket's language).
    var awayMessage: String?

    enum CodingKeys: String, CodingKey {
        case enabled, week, holidays
        case timeZone = "time_zone"
        case awayMessage = "away_message"
    }

    static let key = "business_hours"

    init() {}

    /// Every field may be left out: it takes its default.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = BusinessHours()
        enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? defaults.enabled
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? defaults.timeZone
        week = try container.decodeIfPresent([String: [[String]]].self, forKey: .week) ?? defaults.week
        holidays = try container.decodeIfPresent([String].self, forKey: .holidays) ?? defaults.holidays
        awayMessage = try container.decodeIfPresent(String.self, forKey: .awayMessage)
    }

    static let defaultAway = [
        "es":
            "¡Gracias por escribirnos! En este momento estamos fuera de nuestro horario de atención. Un técnico te responderá en cuanto abramos; mientras tanto, cuéntanos qué le pasa a tu equipo.",
        "en":
            "Thanks for writing! We are outside our opening hours right now. A technician will answer as soon as we open; meanwhile, tell us what is wrong with your device.",
    ]

    struct Invalid: Error, Equatable {
        let reason: String
    }

    /// Checks every field; the reason is in Spanish for the admin.
    func validated() throws(Invalid) -> BusinessHours {
        guard TimeZone(identifier: timeZone) != nil else {
            throw Invalid(reason: "'time_zone' no es una zona horaria conocida (por ejemplo America/Mexico_City)")
        }
        for (day, intervals) in week {
            guard let number = Int(day), (1...7).contains(number) else {
                throw Invalid(reason: "'week' usa los días 1 (lunes) a 7 (domingo), no '\(day.prefix(10))'")
            }
            guard intervals.count <= 6 else { throw Invalid(reason: "Como mucho 6 intervalos por día") }
            for interval in intervals {
                guard interval.count == 2, let open = Self.minutes(interval[0]), let close = Self.minutes(interval[1])
                else {
                    throw Invalid(reason: "Cada intervalo es [\"HH:MM\", \"HH:MM\"] (día \(day))")
                }
                guard open < close else {
                    throw Invalid(reason: "El cierre debe ser posterior a la apertura (día \(day))")
                }
            }
        }
        guard holidays.count <= 366 else { throw Invalid(reason: "Como mucho 366 feriados") }
        for holiday in holidays where (try? Date(holiday + "T12:00:00Z", strategy: .iso8601)) == nil {
            throw Invalid(reason: "Los feriados son fechas AAAA-MM-DD, no '\(holiday.prefix(20))'")
        }
        if let away = awayMessage, away.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || away.count > 1000 {
            throw Invalid(reason: "'away_message' debe tener entre 1 y 1000 caracteres")
        }
        return self
    }

    /// `"09:30"` → 570; `"24:00"` → 1440.
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]),
            let minutes = Int(parts[1]), (0...24).contains(hours), (0...59).contains(minutes),
            hours * 60 + minutes <= 1440
        else { return nil }
        return hours * 60 + minutes
    }

    var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: timeZone) ?? .gmt
        return calendar
    }

    /// The open intervals of the local day that starts at `dayStart`.
    func intervals(ofDayStarting dayStart: Date, calendar: Calendar) -> [(Date, Date)] {
        let components = calendar.dateComponents([.year, .month, .day, .weekday], from: dayStart)
        let day = String(format: "%04d-%02d-%02d", components.year ?? 0, components.month ?? 0, components.day ?? 0)
        guard !holidays.contains(day) else { return [] }
        // Calendar weekdays count from Sunday (1); ISO from Monday.
        let iso = ((components.weekday ?? 1) + 5) % 7 + 1
        return (week[String(iso)] ?? []).compactMap { interval in
            guard interval.count == 2, let open = Self.minutes(interval[0]), let close = Self.minutes(interval[1])
            else {
                return nil
            }
            // Through the calendar, so that a day of a clock change is right.
            let start = calendar.date(byAdding: .minute, value: open, to: dayStart) ?? dayStart
            let end = calendar.date(byAdding: .minute, value: close, to: dayStart) ?? dayStart
            return (start, end)
        }
    }

    func isOpen(at date: Date) -> Bool {
        let calendar = calendar
        return intervals(ofDayStarting: calendar.startOfDay(for: date), calendar: calendar).contains {
            $0.0 <= date && date < $0.1
        }
    }

    /// Open time between two instants (at most a year is walked).
    func businessSeconds(from start: Date, to end: Date) -> TimeInterval {
        guard end > start else { return 0 }
        let calendar = calendar
        var day = calendar.startOfDay(for: start)
        var total: TimeInterval = 0
        var walked = 0
        while day < end, walked < 370 {
            for (open, close) in intervals(ofDayStarting: day, calendar: calendar) {
                let from = max(open, start)
                let to = min(close, end)
                if to > from { total += to.timeIntervalSince(from) }
            }
            day = calendar.date(byAdding: .day, value: 1, to: day) ?? end
            walked += 1
        }
        return total
    }

    static func read(db: Database) throws -> BusinessHours {
        try AppSettings.read(key, as: BusinessHours.self, db: db) ?? BusinessHours()
    }

    /// A customer wrote in `ticket` (`created`: their first message opened it): out of hours, the ticket records it
    /// and, the first time, the customer gets the away message. Inside the caller's transaction.
    static func customerWrote(_ ticket: TicketFacts, created: Bool, now: Date, db: Database) throws {
        let hours = try read(db: db)
        guard hours.enabled, !hours.isOpen(at: now) else { return }
        if created {
            try db.execute(sql: "UPDATE tickets SET out_of_hours = TRUE WHERE id = ?", arguments: [ticket.id])
        }
        try db.execute(
            sql: "UPDATE tickets SET away_sent_at = ? WHERE id = ? AND away_sent_at IS NULL",
            arguments: [now, ticket.id])
        guard db.changesCount == 1 else { return }
        let text = hours.awayMessage ?? defaultAway[ticket.language] ?? defaultAway["es"] ?? ""
        _ = try Conversations.queueOutbound(NewMessage(role: .assistant, content: text), on: ticket, db: db)
    }
}

extension Conversations {
    func businessHours() async throws -> BusinessHours {
        try await committer.writer.read { db in try BusinessHours.read(db: db) }
    }

    func setBusinessHours(_ hours: BusinessHours, by admin: Agent) async throws {
        try await committer.write { db in
            try AppSettings.write(BusinessHours.key, hours, db: db)
            try AuditLog.add(
                AuditEntry(
                    "settings.business_hours", by: admin,
                    details: ["activo": String(hours.enabled), "zona": hours.timeZone]),
                db: db)
        }
    }
}
