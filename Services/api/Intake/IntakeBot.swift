import Foundation

/// The assistant that opens a ticket with the customer. It reads every message for what it already says (the
/// name, the device, its asset number, where they are, the problem: `IntakeExtractor`), asks only for what is
/// still missing (the name unless known, the problem, the device or asset number — "no sé" is fine), invites
/// photos, then sums up and lets the customer confirm or correct before the ticket is final. Answers come in any
/// order and several at once; an answer that fits another question is taken for that one; "no, el equipo es…"
/// corrects. "agente", "humano" or "asesor" at any point hands the chat to a technician; so does a technician
/// writing.
///
/// Pure logic: given the stored state and what the customer sent, it returns what to say and what to store. Its
/// state lives in the ticket row, so a restart of any service resumes the conversation where it was.
struct IntakeBot {
    enum Step: String, Codable, Sendable {
        case awaitingName = "name"
        case awaitingDescription = "description"
        case awaitingEquipment = "equipment"
        case awaitingPhotos = "photos"
        /// The summary was sent; the customer confirms or corrects it.
        case confirming = "confirm"
        case done
        case handedOff = "handed_off"

        /// The intake is over: the summary was confirmed, or the customer asked for a person.
        var isOver: Bool { self == .done || self == .handedOff }

        /// The question this step asked.
        var asked: IntakeSlot? {
            switch self {
            case .awaitingName: .name
            case .awaitingDescription: .problem
            case .awaitingEquipment: .equipment
            default: nil
            }
        }
    }

    /// What a reply does, for tests and the dialogue suite (`Tests/Fixtures/intake/dialogues.json`).
    enum Act: String, Codable, Sendable {
        case greeting, handoff, summary, done
        case askName = "ask_name"
        case askProblem = "ask_problem"
        case askEquipment = "ask_equipment"
        case invitePhotos = "invite_photos"
        case photoReceived = "photo_received"
    }

    struct State: Codable, Sendable, Equatable {
        var step: Step
        var photos = 0
        /// Summaries sent so far: after the third, the next message ends the intake.
        var summaries = 0
        /// The customer does not know which device it is.
        var equipmentUnknown = false

        init(step: Step, photos: Int = 0) {
            self.step = step
            self.photos = photos
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            step = try container.decode(Step.self, forKey: .step)
            photos = try container.decodeIfPresent(Int.self, forKey: .photos) ?? 0
            summaries = try container.decodeIfPresent(Int.self, forKey: .summaries) ?? 0
            equipmentUnknown = try container.decodeIfPresent(Bool.self, forKey: .equipmentUnknown) ?? false
        }
    }

    /// What the customer sent.
    enum Input: Equatable {
        case text(String)
        case image(caption: String?)
    }

    /// The ticket as the bot sees it.
    struct Context: Equatable {
        var ticketID: Int64
        /// The name stated by the customer, or their WhatsApp push name until they state one.
        var customerName: String?
        var description: String?
        var equipment: String?
        var asset: String? = nil
        var location: String? = nil
        var language: String
    }

    /// What to do after one customer message.
    struct Reaction: Equatable {
        var state: State
        var replies: [String] = []
        var acts: [Act] = []
        var customerName: String?
        var description: String?
        var equipment: String?
        var asset: String?
        var location: String?
        var clearEquipment = false
    }

    /// How a message is read: the local extractor, or with the LLM's validated fields over it (`IntakeLLM`).
    typealias Reader = @Sendable (_ text: String, _ asked: IntakeSlot?) -> IntakeFacts
    static let localReader: Reader = { text, asked in IntakeExtractor.facts(in: text, asked: asked) }

    /// The first message of a new ticket.
    static func start(_ input: Input, context: Context, read: Reader = localReader) -> Reaction {
        let texts = IntakeTexts(language: context.language)
        var reaction = Reaction(state: State(step: .awaitingDescription))
        if case .text(let text) = input, wantsHuman(text) {
            reaction.state.step = .handedOff
            reaction.replies = [texts.greeting(context.customerName, ticketID: context.ticketID), texts.handOff]
            reaction.acts = [.greeting, .handoff]
            return reaction
        }
        var text: String?
        switch input {
        case .text(let said): text = said
        case .image(let caption):
            reaction.state.photos = 1
            text = caption
        }
        if let text, !text.isEmpty { absorb(read(text, nil), into: &reaction, context: context) }
        let act = ask(after: &reaction, context: context)
        let name = reaction.customerName ?? context.customerName
        reaction.replies = [texts.greeting(name, ticketID: context.ticketID) + " " + say(act, reaction, context)]
        reaction.acts = [.greeting, act]
        return reaction
    }

    /// A later message while the intake is going on.
    static func next(_ input: Input, state: State, context: Context, read: Reader = localReader) -> Reaction {
        let texts = IntakeTexts(language: context.language)
        var reaction = Reaction(state: state)
        guard !state.step.isOver else { return reaction }
        if case .text(let text) = input, wantsHuman(text) {
            reaction.state.step = .handedOff
            reaction.replies = [texts.handOff]
            reaction.acts = [.handoff]
            return reaction
        }
        if case .image(let caption) = input {
            reaction.state.photos += 1
            if let caption, !caption.isEmpty {
                absorb(read(caption, state.step.asked), into: &reaction, context: context)
            }
            guard state.step == .awaitingPhotos || state.step == .confirming else { return reaction }
            reaction.replies = [texts.photoReceived(reaction.state.photos)]
            reaction.acts = [.photoReceived]
            return reaction
        }
        guard case .text(let raw) = input else { return reaction }
        let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        switch state.step {
        case .awaitingName, .awaitingDescription, .awaitingEquipment:
            let asked = state.step.asked
            let facts = read(text, asked)
            if asked == .equipment, facts.unknown {
                reaction.state.equipmentUnknown = true
                reaction.clearEquipment = true
            } else {
                absorb(facts, into: &reaction, context: context, asked: asked)
                fillUnread(text, facts: facts, asked: asked, into: &reaction, context: context)
            }
            let act = ask(after: &reaction, context: context)
            let thanks = reaction.customerName.map { texts.thanks($0) + " " } ?? ""
            reaction.replies = [thanks + say(act, reaction, context)]
            reaction.acts = [act]
        case .awaitingPhotos, .confirming:
            let facts = read(text, nil)
            if state.step == .confirming, facts.affirmative || state.summaries >= 3 {
                reaction.state.step = .done
                reaction.replies = [texts.done(name: context.customerName, ticketID: context.ticketID)]
                reaction.acts = [.done]
                return reaction
            }
            if !(state.step == .awaitingPhotos && facts.finished) {
                if facts.hasDetails || facts.correction || facts.restatesProblem {
                    absorb(facts, into: &reaction, context: context, replacing: true)
                } else if !facts.affirmative, !facts.finished {
                    // Not a detail: the customer is adding to the problem.
                    reaction.description = [context.description, text].compactMap { $0 }.joined(separator: "\n")
                }
            }
            reaction.state.step = .confirming
            reaction.state.summaries += 1
            reaction.replies = [say(.summary, reaction, context)]
            reaction.acts = [.summary]
        case .done, .handedOff:
            break
        }
        return reaction
    }

    /// Takes what a message says into the reaction: a stated name always; a device, asset or place when not known
    /// yet (or as a correction, `replacing`); the problem when there is none yet, added to it when the message is
    /// only more of the problem, replaced when restated ("el problema es…").
    static func absorb(
        _ facts: IntakeFacts, into reaction: inout Reaction, context: Context, asked: IntakeSlot? = nil,
        replacing: Bool = false
    ) {
        let replace = replacing || facts.correction
        if let name = facts.name { reaction.customerName = name }
        if let equipment = facts.equipment, replace || (reaction.equipment ?? context.equipment) == nil {
            reaction.equipment = equipment
            reaction.state.equipmentUnknown = false
        }
        if let asset = facts.asset, replace || (reaction.asset ?? context.asset) == nil { reaction.asset = asset }
        if let location = facts.location, replace || (reaction.location ?? context.location) == nil {
            reaction.location = location
        }
        guard let problem = facts.problem else { return }
        let current = reaction.description ?? context.description
        if facts.restatesProblem || current == nil {
            reaction.description = problem
        } else if !facts.hasDetails, !facts.correction, let current, current != problem {
            reaction.description = current + "\n" + problem
        }
    }

    /// An answer the extractor could not place is still the answer to the question: a device nobody's dictionary
    /// knows ("una Vaio vieja"), a short name typed oddly. A long text where a name was asked is the problem.
    static func fillUnread(
        _ text: String, facts: IntakeFacts, asked: IntakeSlot?, into reaction: inout Reaction, context: Context
    ) {
        guard !text.isEmpty, !facts.hasDetails, facts.problem == nil, !facts.unknown else { return }
        let words = IntakeExtractor.tokens(Substring(text)).filter(\.isWord)
        switch asked {
        case .equipment:
            reaction.equipment = String(text.prefix(120))
        case .name where (1...4).contains(words.count) && !words.contains(where: \.hasDigit):
            reaction.customerName = IntakeExtractor.titleCased(words.map(\.text))
        case .name, .problem:
            if words.count >= 3, (reaction.description ?? context.description) == nil {
                reaction.description = text
            }
        case nil:
            break
        }
    }

    /// The next thing to ask, from what is known now; moves the state to it.
    static func ask(after reaction: inout Reaction, context: Context) -> Act {
        let act: Act
        if (reaction.customerName ?? context.customerName) == nil {
            act = .askName
            reaction.state.step = .awaitingName
        } else if (reaction.description ?? context.description) == nil {
            act = .askProblem
            reaction.state.step = .awaitingDescription
        } else if (reaction.equipment ?? context.equipment) == nil, (reaction.asset ?? context.asset) == nil,
            !reaction.state.equipmentUnknown
        {
            act = .askEquipment
            reaction.state.step = .awaitingEquipment
        } else if reaction.state.photos == 0 {
            act = .invitePhotos
            reaction.state.step = .awaitingPhotos
        } else {
            act = .summary
            reaction.state.step = .confirming
            reaction.state.summaries += 1
        }
        return act
    }

    /// What the assistant says for `act`, with what it knows after this message.
    static func say(_ act: Act, _ reaction: Reaction, _ context: Context) -> String {
        let texts = IntakeTexts(language: context.language)
        switch act {
        case .askName: return texts.askName
        case .askProblem: return texts.askDescription
        case .askEquipment: return texts.askEquipment
        case .invitePhotos: return texts.invitePhotos
        case .photoReceived: return texts.photoReceived(reaction.state.photos)
        case .handoff: return texts.handOff
        case .done: return texts.done(name: reaction.customerName ?? context.customerName, ticketID: context.ticketID)
        case .greeting: return texts.greeting(reaction.customerName ?? context.customerName, ticketID: context.ticketID)
        case .summary:
            return texts.summary(
                IntakeTexts.Summary(
                    name: reaction.customerName ?? context.customerName, ticketID: context.ticketID,
                    description: reaction.description ?? context.description,
                    equipment: reaction.clearEquipment ? nil : reaction.equipment ?? context.equipment,
                    asset: reaction.asset ?? context.asset, location: reaction.location ?? context.location,
                    photos: reaction.state.photos))
        }
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
