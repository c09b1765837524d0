import Foundation

/// The assistant that opens a ticket with the customer: greets, asks the name (unless known), the problem, the
/// equipment or asset number ("no sé" is fine), invites photos, then sums up with the ticket number. "agente",
/// "humano" or "asesor" at any point hands the chat to a technician; so does a technician writing.
///
/// Pure logic: given the stored state and what the customer sent, it returns what to say and what to store. Its
/// state lives in the ticket row, so a restart of any service resumes the conversation where it was.
struct IntakeBot {
    enum Step: String, Codable, Sendable {
        case awaitingName = "name"
        case awaitingDescription = "description"
        case awaitingEquipment = "equipment"
        case awaitingPhotos = "photos"
        case done
        case handedOff = "handed_off"
    }

    struct State: Codable, Sendable, Equatable {
        var step: Step
        var photos = 0
    }

    /// What the customer sent.
    enum Input: Equatable {
        case text(String)
        case image(caption: String?)
    }

    /// The ticket as the bot sees it.
    struct Context: Equatable {
        var ticketID: Int64
        var customerName: String?
        var description: String?
        var equipment: String?
        var language: String
    }

    /// What to do after one customer message.
    struct Reaction: Equatable {
        var state: State
        var replies: [String] = []
        var customerName: String?
        var description: String?
        var equipment: String?
        var clearEquipment = false
    }

    /// The first message of a new ticket.
    static func start(_ input: Input, context: Context) -> Reaction {
        let texts = IntakeTexts(language: context.language)
        var reaction = Reaction(state: State(step: .awaitingDescription))
        if case .text(let text) = input, wantsHuman(text) {
            reaction.state.step = .handedOff
            reaction.replies = [texts.greeting(context.customerName, ticketID: context.ticketID), texts.handOff]
            return reaction
        }
        // A first message that already tells the problem is the description: nobody likes repeating it.
        if case .text(let text) = input, looksLikeProblem(text) { reaction.description = text }
        if case .image(let caption) = input {
            reaction.state.photos = 1
            if let caption, looksLikeProblem(caption) { reaction.description = caption }
        }
        let greeting = texts.greeting(context.customerName, ticketID: context.ticketID)
        if context.customerName == nil {
            reaction.state.step = .awaitingName
            reaction.replies = [greeting + " " + texts.askName]
        } else if reaction.description == nil {
            reaction.replies = [greeting + " " + texts.askDescription]
        } else {
            reaction.state.step = .awaitingEquipment
            reaction.replies = [greeting + " " + texts.askEquipment]
        }
        return reaction
    }

    /// A later message while the intake is going on.
    static func next(_ input: Input, state: State, context: Context) -> Reaction {
        let texts = IntakeTexts(language: context.language)
        var reaction = Reaction(state: state)
        guard state.step != .done, state.step != .handedOff else { return reaction }
        if case .text(let text) = input, wantsHuman(text) {
            reaction.state.step = .handedOff
            reaction.replies = [texts.handOff]
            return reaction
        }
        if case .image(let caption) = input {
            reaction.state.photos += 1
            guard state.step == .awaitingPhotos else {
                if let caption, !caption.isEmpty, context.description == nil, looksLikeProblem(caption) {
                    reaction.description = caption
                }
                return reaction
            }
            reaction.replies = [texts.photoReceived(reaction.state.photos)]
            return reaction
        }
        guard case .text(let raw) = input else { return reaction }
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        switch state.step {
        case .awaitingName:
            let name = cleanName(text)
            reaction.customerName = name
            if context.description == nil {
                reaction.state.step = .awaitingDescription
                reaction.replies = [texts.thanks(name) + " " + texts.askDescription]
            } else {
                reaction.state.step = .awaitingEquipment
                reaction.replies = [texts.thanks(name) + " " + texts.askEquipment]
            }
        case .awaitingDescription:
            reaction.description = text
            reaction.state.step = .awaitingEquipment
            reaction.replies = [texts.askEquipment]
        case .awaitingEquipment:
            if isUnknown(text) {
                reaction.clearEquipment = true
            } else {
                reaction.equipment = String(text.prefix(200))
            }
            reaction.state.step = .awaitingPhotos
            reaction.replies = [texts.invitePhotos]
        case .awaitingPhotos:
            if !isDone(text) {
                // Not a "listo": the customer is adding to the problem.
                reaction.description = [context.description, text].compactMap { $0 }.joined(separator: "\n")
            }
            reaction.state.step = .done
            let equipment = reaction.equipment ?? context.equipment
            reaction.replies = [
                texts.summary(
                    name: context.customerName, ticketID: context.ticketID,
                    description: reaction.description ?? context.description, equipment: equipment,
                    photos: state.photos)
            ]
        case .done, .handedOff:
            break
        }
        return reaction
    }

    // MARK: Reading the customer

    static func normalized(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
            .trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
    }

    static func words(_ text: String) -> [Substring] {
        normalized(text).split(whereSeparator: { !$0.isLetter && !$0.isNumber })
    }

    static let humanWords: Set<Substring> = [
        "agente", "humano", "asesor", "asesora", "persona", "tecnico", "operador", "agent", "human", "advisor",
        "representative", "person",
    ]

    /// "agente", "quiero hablar con un humano", "asesor por favor", "talk to a human".
    static func wantsHuman(_ text: String) -> Bool {
        let words = words(text)
        guard !words.isEmpty, words.count <= 8 else { return false }
        return words.contains { humanWords.contains($0) }
    }

    static let greetings: Set<Substring> = [
        "hola", "buenas", "buenos", "dias", "tardes", "noches", "hi", "hello", "hey", "que", "tal", "ola", "saludos",
        "good", "morning", "afternoon", "evening", "buen", "dia", "oye", "disculpe", "disculpa", "una", "pregunta",
        "ayuda", "help", "please", "porfa", "favor", "por",
    ]

    /// Enough words that are not just a greeting.
    static func looksLikeProblem(_ text: String) -> Bool {
        let words = words(text)
        return words.filter { !greetings.contains($0) }.count >= 3
    }

    static func isUnknown(_ text: String) -> Bool {
        let answer = normalized(text)
        return [
            "no se", "nose", "no lo se", "ni idea", "no tengo", "no sabemos", "desconozco", "no", "n/a", "na",
            "i don't know", "i dont know", "dont know", "don't know", "no idea", "unknown", "idk",
        ].contains(answer) || answer.hasPrefix("no se ") || answer.hasPrefix("no lo se")
    }

    static func isDone(_ text: String) -> Bool {
        let answer = normalized(text)
        return [
            "listo", "ya", "ya esta", "es todo", "eso es todo", "no", "no tengo", "no tengo fotos", "sin fotos",
            "nada", "ninguna", "no gracias", "ok", "okay", "va", "sale", "done", "no photos", "thats all",
            "that's all", "nope", "finished", "ready",
        ].contains(answer)
    }

    /// "soy juan perez" → "Juan Perez"; "me llamo Ana" → "Ana".
    static func cleanName(_ text: String) -> String {
        var name = text.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters))
        let lowered = name.lowercased()
        for prefix in ["mi nombre es ", "me llamo ", "soy ", "my name is ", "i am ", "i'm ", "im ", "it's ", "its "]
        where lowered.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count))
            break
        }
        let words = name.split(separator: " ").prefix(5).map { word in
            word.prefix(1).uppercased() + word.dropFirst()
        }
        let cleaned = words.joined(separator: " ")
        return cleaned.isEmpty ? text : String(cleaned.prefix(80))
    }

    static let englishWords: Set<Substring> = [
        "the", "my", "is", "it", "not", "and", "to", "i", "hi", "hello", "help", "please", "with", "on", "doesnt",
        "wont", "cant", "laptop", "screen", "broken", "printer", "working", "computer", "phone", "need", "have",
        "this", "when", "after", "it's", "isn't", "won't", "can't", "turn", "does", "what", "of", "a", "in",
    ]
    static let spanishWords: Set<Substring> = [
        "el", "la", "mi", "es", "no", "y", "de", "que", "hola", "por", "favor", "con", "en", "se", "un", "una",
        "lo", "los", "las", "prende", "enciende", "pantalla", "impresora", "computadora", "tengo", "me", "esta",
        "buenas", "ayuda", "funciona", "sirve", "cuando", "para", "del", "al",
    ]

    /// `en` when the text reads as English, otherwise `es`.
    static func language(of text: String) -> String {
        let words = words(text)
        let english = words.filter { englishWords.contains($0) }.count
        let spanish = words.filter { spanishWords.contains($0) }.count
        return english > spanish ? "en" : "es"
    }
}
