/// What the assistant says, in Spanish (default) or English.
struct IntakeTexts {
    let english: Bool

    init(language: String) {
        english = language == "en"
    }

    func greeting(_ name: String?, ticketID: Int64) -> String {
        let who = name.map { " \($0)" } ?? ""
        return english
            ? "Hi\(who)! 👋 Thanks for contacting technical support. We opened ticket #\(ticketID) for you."
            : "¡Hola\(who)! 👋 Gracias por escribir a soporte técnico. Abrimos el ticket #\(ticketID) para ti."
    }

    var askName: String { english ? "What is your name?" : "¿Cuál es tu nombre?" }

    func thanks(_ name: String) -> String { english ? "Thanks, \(name)." : "Gracias, \(name)." }

    var askDescription: String {
        english
            ? "Please describe the problem: what happens, since when, and any error message you see."
            : "Cuéntanos el problema: qué pasa, desde cuándo y si aparece algún mensaje de error."
    }

    var askEquipment: String {
        english
            ? "Which device is it? Tell us the brand and model or its asset number (or “I don't know”)."
            : "¿De qué equipo se trata? Dinos marca y modelo o su número de activo/inventario (o “no sé”)."
    }

    var invitePhotos: String {
        english
            ? "If you have photos of the device or of the error, send them now. When you are done, write “done” (or “no”)."
            : "Si tienes fotos del equipo o del error, envíalas ahora. Cuando termines escribe “listo” (o “no” si no tienes)."
    }

    func photoReceived(_ count: Int) -> String {
        english
            ? "Photo \(count) received ✅. Send more, or write “done”."
            : "Foto \(count) recibida ✅. Envía más o escribe “listo”."
    }

    var handOff: String {
        english
            ? "Sure, I am passing you to a technician. A person will answer you here shortly."
            : "Claro, te comunico con un técnico. En breve te atiende una persona por aquí."
    }

    /// What the summary shows.
    struct Summary {
        var name: String?
        var ticketID: Int64
        var description: String?
        var equipment: String?
        var asset: String?
        var location: String?
        var photos: Int
    }

    /// The ticket as the assistant understood it, for the customer to confirm or correct.
    func summary(_ summary: Summary) -> String {
        let unknown = english ? "not given" : "sin indicar"
        let problem = summary.description.map { String($0.prefix(300)) } ?? unknown
        var lines = [
            english
                ? "This is your ticket #\(summary.ticketID)\(summary.name.map { ", \($0)" } ?? ""):"
                : "Este es tu ticket #\(summary.ticketID)\(summary.name.map { ", \($0)" } ?? ""):",
            (english ? "• Problem: " : "• Problema: ") + problem,
            (english ? "• Device: " : "• Equipo: ") + (summary.equipment ?? unknown),
        ]
        if let asset = summary.asset { lines.append((english ? "• Asset/serial: " : "• Activo/serie: ") + asset) }
        if let location = summary.location { lines.append((english ? "• Location: " : "• Ubicación: ") + location) }
        lines.append((english ? "• Photos: " : "• Fotos: ") + String(summary.photos))
        lines.append(
            english
                ? "Is this right? Answer “yes”, or tell me what to fix (for example: “the device is an HP ProBook”)."
                : "¿Es correcto? Responde “sí” o dime qué corregir (por ejemplo: “el equipo es una HP ProBook”).")
        return lines.joined(separator: "\n")
    }

    func done(name: String?, ticketID: Int64) -> String {
        english
            ? "Thanks\(name.map { ", \($0)" } ?? "")! Ticket #\(ticketID) is registered. A technician will contact you here soon."
            : "¡Gracias\(name.map { ", \($0)" } ?? "")! Tu ticket #\(ticketID) quedó registrado. Un técnico te contactará por aquí en breve."
    }
}
