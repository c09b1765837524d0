import Foundation
import Hummingbird
import HummingbirdCore
import NIOCore

/// CSV exports for admins: `GET /api/exports/tickets.csv` and `GET /api/exports/dashboard.csv`. Streamed: tickets
/// are read and written a page at a time, so an export of any size holds one page in memory. UTF-8 with a BOM (so
/// that spreadsheet programs read accents right), `,` or `;` between fields (`separator=semicolon`, what Excel
/// expects where the decimal mark is a comma), and cells that a spreadsheet would run as a formula neutralised.
struct ExportsController {
    let exports: Exports
    let audit: AuditStore
    /// Tickets per page read from the database.
    var pageSize = 500
    /// At most this many days in one dashboard export.
    static let maximumDays = 1_100

    func addRoutes(to group: RouterGroup<APIRequestContext>) {
        group.get("api/exports/tickets.csv", use: tickets)
        group.get("api/exports/dashboard.csv", use: dashboard)
    }

    @Sendable func tickets(_ request: Request, context: APIRequestContext) async throws -> Response {
        let admin = try context.requireAdmin(to: "exportar datos")
        let query = request.uri.queryParameters
        var filter = Exports.TicketFilter()
        filter.since = try Parameters.instant(query["since"], name: "since", endOfDay: false)
        filter.until = try Parameters.instant(query["until"], name: "until", endOfDay: true)
        if let text = query["estado"].map(String.init), !text.isEmpty {
            filter.statuses = try text.split(separator: ",").map { name in
                guard let status = TicketStatus(parsing: String(name)) else {
                    throw APIError.badRequest("'estado' no válido: \(name.prefix(40))")
                }
                return status
            }
        }
        if let category = query["categoria"].map(String.init), !category.isEmpty {
            guard ["Hardware", "Software", "unknown"].contains(category) else {
                throw APIError.badRequest("'categoria' debe ser Hardware, Software o unknown")
            }
            filter.category = category
        }
        if let label = query["label"].map(String.init), !label.isEmpty { filter.label = String(label.prefix(40)) }
        let csv = try CSVFormat(separator: query["separator"])
        try await audit.record(
            AuditEntry("export.tickets", by: admin, details: Self.described(query, keys: Self.ticketKeys)))
        let exports = exports
        let pageSize = pageSize
        let chosen = filter
        let body = ResponseBody { writer in
            try await writer.write(csv.header(Self.ticketColumns))
            var after: Int64 = 0
            while true {
                let page = try await exports.tickets(chosen, after: after, limit: pageSize)
                guard let last = page.last else { break }
                try await writer.write(csv.rows(page.map(Self.cells)))
                after = last.summary.id
                if page.count < pageSize { break }
            }
            try await writer.finish(nil)
        }
        return Self.response(body, filename: "tickets", since: filter.since, until: filter.until)
    }

    @Sendable func dashboard(_ request: Request, context: APIRequestContext) async throws -> Response {
        let admin = try context.requireAdmin(to: "exportar datos")
        let query = request.uri.queryParameters
        let today = Calendar.utc.startOfDay(for: Date())
        let until =
            try Parameters.instant(query["until"], name: "until", endOfDay: true) ?? today.addingTimeInterval(86_400)
        let since =
            try Parameters.instant(query["since"], name: "since", endOfDay: false)
            ?? until.addingTimeInterval(-30 * 86_400)
        let start = Calendar.utc.startOfDay(for: since)
        guard start < until else { throw APIError.badRequest("'since' debe ser anterior a 'until'") }
        guard until.timeIntervalSince(start) <= Double(Self.maximumDays) * 86_400 else {
            throw APIError.badRequest("Se pueden exportar hasta \(Self.maximumDays) días")
        }
        let csv = try CSVFormat(separator: query["separator"])
        let days = try await exports.days(since: start, until: until)
        try await audit.record(
            AuditEntry("export.dashboard", by: admin, details: Self.described(query, keys: ["since", "until"])))
        var buffer = csv.header(Self.dashboardColumns)
        buffer.writeImmutableBuffer(csv.rows(days.map(Self.cells)))
        return Self.response(ResponseBody(byteBuffer: buffer), filename: "panel", since: start, until: until)
    }

    // MARK: Columns

    static let ticketColumns = [
        "numero", "uuid", "estado", "canal", "categoria", "confianza", "etiquetas", "cliente", "telefono",
        "telefono_verificado", "email", "equipo", "descripcion", "ubicacion", "tecnico", "mensajes", "creado",
        "primera_respuesta", "primera_respuesta_segundos", "resuelto", "cerrado", "ultima_actividad",
    ]
    static let ticketKeys = ["since", "until", "estado", "categoria", "label"]

    static func cells(_ row: Exports.TicketRow) -> [CSVFormat.Cell] {
        let ticket = row.summary
        return [
            .number(Double(ticket.id)), .text(ticket.uuid), .text(ticket.status.rawValue),
            .text(ticket.channel.rawValue),
            .text(ticket.category), ticket.confidence.map { .number($0) } ?? .empty,
            .text(ticket.labels.map(\.name).joined(separator: ", ")), .text(ticket.customerName),
            .text(ticket.phone), .text(ticket.phone == nil ? nil : (ticket.phoneVerified ? "sí" : "no")),
            .text(ticket.email), .text(ticket.equipment), .text(ticket.description), .text(ticket.location),
            .text(row.agent), .number(Double(row.messages)), .date(ticket.createdAt), .date(ticket.firstResponseAt),
            ticket.firstResponseAt.map { .number($0.timeIntervalSince(ticket.createdAt).rounded()) } ?? .empty,
            .date(ticket.resolvedAt), .date(ticket.closedAt), .date(ticket.lastMessageAt),
        ]
    }

    static let dashboardColumns = [
        "fecha", "tickets_nuevos", "whatsapp", "web", "hardware", "software", "sin_categoria", "respondidos",
        "primera_respuesta_media_segundos", "resueltos", "cerrados", "mensajes_de_clientes", "mensajes_de_tecnicos",
    ]

    static func cells(_ day: Exports.Day) -> [CSVFormat.Cell] {
        [
            .text(day.date), .number(Double(day.created)), .number(Double(day.whatsapp)), .number(Double(day.web)),
            .number(Double(day.hardware)), .number(Double(day.software)), .number(Double(day.uncategorised)),
            .number(Double(day.answered)), day.averageFirstResponseSeconds.map { .number($0.rounded()) } ?? .empty,
            .number(Double(day.resolved)), .number(Double(day.closed)), .number(Double(day.customerMessages)),
            .number(Double(day.technicianMessages)),
        ]
    }

    static func described(_ query: FlatDictionary<Substring, Substring>, keys: [String]) -> [String: String] {
        var details: [String: String] = [:]
        for key in keys {
            if let value = query[key[...]], !value.isEmpty { details[key] = String(value.prefix(60)) }
        }
        return details
    }

    static func response(_ body: ResponseBody, filename: String, since: Date?, until: Date?) -> Response {
        let day = Date.ISO8601FormatStyle().year().month().day()
        let range = [since.map(day.format), until.map { day.format($0.addingTimeInterval(-1)) }]
            .compactMap { $0 }.joined(separator: "_")
        let name = "mostrador-\(filename)\(range.isEmpty ? "" : "-" + range).csv"
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name)\"",
                .cacheControl: "no-store",
            ],
            body: body)
    }
}

/// RFC 4180 CSV: fields with the separator, quotes or line breaks are quoted (quotes doubled); lines end in CRLF.
/// A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so that a
/// customer's message can never become a formula in the admin's spreadsheet (OWASP "CSV injection").
struct CSVFormat: Sendable {
    let separator: UInt8

    enum Cell: Sendable {
        case text(String?)
        case number(Double)
        case date(Date?)
        static let empty = Cell.text(nil)
    }

    init(separator: Substring?) throws {
        switch separator?.lowercased() {
        case nil, "", "comma", ",": self.separator = UInt8(ascii: ",")
        case "semicolon", ";": self.separator = UInt8(ascii: ";")
        default: throw APIError.badRequest("'separator' debe ser comma o semicolon")
        }
    }

    /// The byte-order mark and the column names.
    func header(_ columns: [String]) -> ByteBuffer {
        var buffer = ByteBuffer(bytes: [0xEF, 0xBB, 0xBF])
        write(columns.map { Cell.text($0) }, to: &buffer)
        return buffer
    }

    func rows(_ rows: [[Cell]]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(rows.count * 200)
        for row in rows { write(row, to: &buffer) }
        return buffer
    }

    static let instant = Date.ISO8601FormatStyle()

    func write(_ cells: [Cell], to buffer: inout ByteBuffer) {
        for (index, cell) in cells.enumerated() {
            if index > 0 { buffer.writeInteger(separator) }
            switch cell {
            case .text(let text?): writeText(text, to: &buffer)
            case .text(nil), .date(nil): break
            case .date(let date?): buffer.writeString(Self.instant.format(date))
            case .number(let number):
                if number == number.rounded(), abs(number) < 1e15 {
                    buffer.writeString(String(Int64(number)))
                } else {
                    buffer.writeString(String(format: "%.3f", number))
                }
            }
        }
        buffer.writeString("\r\n")
    }

    func writeText(_ text: String, to buffer: inout ByteBuffer) {
        var value = text
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) { value = "'" + value }
        let special: Set<UInt8> = [separator, UInt8(ascii: "\""), 10, 13]
        let needsQuotes = value.utf8.contains(where: special.contains)
        guard needsQuotes else {
            buffer.writeString(value)
            return
        }
        buffer.writeString("\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
