import AMQPClient
import ArgumentParser
import Foundation
import MostradorMessaging
import MostradorServiceKit

/// `mostrador-api dead-letters list|show|redrive`: what waits in `mostrador.dead-letters`, why, and putting it back
/// into the queue it died in.
struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Inspecciona y reenvía los mensajes de mostrador.dead-letters.",
        subcommands: [List.self, Show.self, Redrive.self])

    /// `list`: one line per message.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lista los mensajes: id, tipo, cola de origen, muertes, antigüedad y motivo.")

        @OptionGroup var options: ServiceOptions
        @Option(help: "Cuántos mensajes mostrar como mucho.") var limit = 100

        func run() async throws {
            try await DeadLettersCommand.withQueue(options) { queue in
                let depth = try await queue.depth()
                let letters = try await queue.peek(limit: limit)
                print(DeadLetterText.table(letters, depth: depth, queue: queue.name, now: Date()))
            }
        }
    }

    /// `show <id>`: every header and the body as indented JSON.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Muestra un mensaje: cabeceras y cuerpo.")

        @OptionGroup var options: ServiceOptions
        @Argument(help: "El message_id que muestra `list`.") var id: String

        func run() async throws {
            let found = try await DeadLettersCommand.withQueue(options) { queue in
                try await queue.peek().filter { $0.messageID?.lowercased() == id.lowercased() }
            }
            guard !found.isEmpty else {
                print("No hay ningún mensaje \(id) en \(MostradorTopology.deadLetterQueue).")
                throw ExitCode.failure
            }
            print(found.map { DeadLetterText.details($0, now: Date()) }.joined(separator: "\n\n"))
        }
    }

    /// `redrive <id>` or `redrive --all`: back to the queue each message died in.
    struct Redrive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Devuelve mensajes a la cola donde murieron; se quitan de aquí cuando el broker confirma la copia.")

        @OptionGroup var options: ServiceOptions
        @Argument(help: "El message_id del mensaje a reenviar.") var id: String?
        @Flag(help: "Reenviar todos los mensajes.") var all = false

        func validate() throws {
            if id == nil, !all { throw ValidationError("indique un message_id o --all") }
            if id != nil, all { throw ValidationError("indique un message_id o --all, no ambos") }
        }

        func run() async throws {
            let wanted = id?.lowercased()
            let report = try await DeadLettersCommand.withQueue(options) { queue in
                try await queue.redrive { wanted == nil || $0.messageID?.lowercased() == wanted }
            }
            for letter in report.redriven {
                print("reenviado \(letter.messageID ?? "-") (\(letter.type ?? "-")) → \(letter.queue ?? "-")")
            }
            for (letter, error) in report.failed {
                print("NO reenviado \(letter.messageID ?? "-") (\(letter.type ?? "-")): \(error)")
            }
            print("\(report.redriven.count) reenviados, \(report.failed.count) con error")
            if let id, report.redriven.isEmpty, report.failed.isEmpty {
                print("No hay ningún mensaje \(id) en \(MostradorTopology.deadLetterQueue).")
                throw ExitCode.failure
            }
            if !report.failed.isEmpty { throw ExitCode.failure }
        }
    }

    /// Runs `body` with the dead-letter queue on a connection of its own, closed (acknowledgements sent) after.
    static func withQueue<Result: Sendable>(
        _ options: ServiceOptions, _ body: (DeadLetterQueue) async throws -> Result
    ) async throws -> Result {
        var configuration = try options.resolve(service: "api-admin", defaultPort: 0)
        // Standard output is the answer; logs go to standard error, and only when something is wrong.
        configuration.logLevel = max(configuration.logLevel, .warning)
        Observability.bootstrap(configuration)
        let connection = ServiceApplication.connection(
            configuration, role: "dead-letters", topology: MostradorTopology.topology)
        connection.start()
        do {
            try await connection.waitUntilReady(timeout: .seconds(30))
            let result = try await body(DeadLetterQueue(connection: connection))
            await connection.shutdown()
            return result
        } catch {
            await connection.shutdown()
            throw error
        }
    }
}

/// How the command prints dead letters.
enum DeadLetterText {
    static func table(_ letters: [DeadLetter], depth: Int, queue: String, now: Date) -> String {
        var lines = ["\(queue): \(messages(depth))" + (letters.count < depth ? " (se muestran \(letters.count))" : "")]
        guard !letters.isEmpty else { return lines[0] }
        let rows =
            [["ID", "TIPO", "COLA DE ORIGEN", "MUERTES", "ANTIGÜEDAD", "MOTIVO"]]
            + letters.map { letter in
                [
                    letter.messageID ?? "-", letter.type ?? "-", letter.queue ?? "-", String(letter.deaths),
                    letter.deadAt.map { age(now.timeIntervalSince($0)) } ?? "-", letter.reason,
                ]
            }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let padded = (0..<5).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            lines.append((padded + [row[5]]).joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }

    static func details(_ letter: DeadLetter, now: Date) -> String {
        var lines = [
            "id:             \(letter.messageID ?? "-")",
            "tipo:           \(letter.type ?? "-")",
            "cola de origen: \(letter.queue ?? "-")",
            "clave de ruta:  \(letter.routingKey)",
            "motivo:         \(letter.reason)",
            "muertes:        \(letter.deaths) (reenviado \(letter.redriveCount) veces)",
        ]
        if let deadAt = letter.deadAt {
            lines.append("murió hace:     \(age(now.timeIntervalSince(deadAt))) (\(deadAt.formatted(.iso8601)))")
        }
        if let ticket = letter.properties.correlationID { lines.append("ticket:         \(ticket)") }
        lines.append("cabeceras:")
        for (name, value) in letter.properties.headers.sorted(by: { $0.key < $1.key }) {
            lines.append("  \(name): \(text(value))")
        }
        lines.append("cuerpo:")
        lines.append(body(letter.body))
        return lines.joined(separator: "\n")
    }

    /// The body as indented JSON when it is JSON, else as text.
    static func body(_ bytes: [UInt8]) -> String {
        if let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
            let pretty = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        {
            return String(decoding: pretty, as: UTF8.self)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func text(_ value: AMQPFieldValue) -> String {
        switch value {
        case .string(let string): string
        case .int(let int): String(int)
        case .bool(let bool): String(bool)
        case .double(let double): String(double)
        case .bytes(let bytes): "<\(bytes.count) bytes>"
        case .array(let values): "[" + values.map(text).joined(separator: ", ") + "]"
        case .table(let table):
            "{" + table.sorted(by: { $0.key < $1.key }).map { "\($0.key): \(text($0.value))" }.joined(separator: ", ")
                + "}"
        }
    }

    static func messages(_ count: Int) -> String { count == 1 ? "1 mensaje" : "\(count) mensajes" }

    /// `42 s`, `3 min`, `5 h`, `2 d`.
    static func age(_ seconds: TimeInterval) -> String {
        let seconds = max(0, Int(saturating: seconds))
        switch seconds {
        case ..<120: return "\(seconds) s"
        case ..<7200: return "\(seconds / 60) min"
        case ..<172_800: return "\(seconds / 3600) h"
        default: return "\(seconds / 86400) d"
        }
    }
}
