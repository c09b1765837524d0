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

    func summary(name: String?, ticketID: Int64, description: String?, equipment: String?, photos: Int) -> String {
        let unknown = english ? "not given" : "sin indicar"
        let problem = description.map { String($0.prefix(300)) } ?? unknown
        if english {
            return """
                Thanks\(name.map { ", \($0)" } ?? "")! This is your ticket #\(ticketID):
                • Problem: \(problem)
                • Device: \(equipment ?? unknown)
                • Photos: \(photos)
                A technician will contact you here soon.
                """
        }
        return """
            ¡Gracias\(name.map { ", \($0)" } ?? "")! Este es tu ticket #\(ticketID):
            • Problema: \(problem)
            • Equipo: \(equipment ?? unknown)
            • Fotos: \(photos)
            Un técnico te contactará por aquí en breve.
            """
    }
}
