import Testing

@testable import MostradorAPI

@Suite("The intake assistant's dialogue")
struct IntakeBotTests {
    func context(name: String? = nil, description: String? = nil, language: String = "es") -> IntakeBot.Context {
        IntakeBot.Context(
            ticketID: 41, customerName: name, description: description, equipment: nil, language: language)
    }

    /// Runs a conversation through the bot the way `IntakeStep` does (the context carries what was stored).
    struct Conversation {
        var context: IntakeBot.Context
        var state = IntakeBot.State(step: .awaitingDescription)
        var started = false
        var acts: [[IntakeBot.Act]] = []
        var replies: [String] = []

        init(push: String? = nil, language: String = "es") {
            context = IntakeBot.Context(
                ticketID: 41, customerName: push, description: nil, equipment: nil, language: language)
        }

        mutating func say(_ input: IntakeBot.Input) {
            let reaction =
                started
                ? IntakeBot.next(input, state: state, context: context) : IntakeBot.start(input, context: context)
            started = true
            state = reaction.state
            if let name = reaction.customerName { context.customerName = name }
            if let description = reaction.description { context.description = description }
            if let equipment = reaction.equipment { context.equipment = equipment }
            if reaction.clearEquipment { context.equipment = nil }
            if let asset = reaction.asset { context.asset = asset }
            if let location = reaction.location { context.location = location }
            acts.append(reaction.acts)
            replies.append(contentsOf: reaction.replies)
        }

        mutating func say(_ text: String) { say(.text(text)) }
    }

    /// The first conversation of issue 14: everything in one message; the push name loses to the stated name and
    /// nothing is asked again.
    @Test func aMessageThatSaysEverythingIsNotAskedAgain() {
        var chat = Conversation(push: "Pepe")
        chat.say(
            "Buen día, soy José Ramírez de contabilidad. Mi laptop Dell Latitude 5420 (activo 10233) no enciende desde ayer, ya probé otro cargador y nada"
        )
        #expect(chat.acts == [[.greeting, .invitePhotos]])
        #expect(chat.replies[0].hasPrefix("¡Hola José Ramírez!"))
        #expect(chat.context.customerName == "José Ramírez")
        #expect(chat.context.equipment == "laptop Dell Latitude 5420")
        #expect(chat.context.asset == "10233")
        #expect(chat.context.location == "contabilidad")
        #expect(chat.context.description?.hasPrefix("Mi laptop Dell Latitude 5420") == true)
        #expect(chat.context.description?.contains("José") == false)
        chat.say("no tengo fotos")
        #expect(chat.acts.last == [.summary])
        let summary = chat.replies.last ?? ""
        #expect(summary.contains("José Ramírez") && summary.contains("Equipo: laptop Dell Latitude 5420"))
        #expect(summary.contains("Activo/serie: 10233") && summary.contains("Ubicación: contabilidad"))
        chat.say("sí")
        #expect(chat.acts.last == [.done])
        #expect(chat.state.step == .done)
        // After the intake the assistant stays quiet.
        chat.say("hola?")
        #expect(chat.acts.last == [])
    }

    /// The second conversation of issue 14: a customer with a push name answers the problem question with their
    /// full name; every later answer lands in its own field.
    @Test func aNameGivenWhereTheProblemWasAskedIsTakenAsTheName() {
        var chat = Conversation(push: "Lucía")
        chat.say("hola")
        #expect(chat.acts == [[.greeting, .askProblem]])
        chat.say("Lucía Hernández")
        #expect(chat.acts.last == [.askProblem])
        #expect(chat.context.customerName == "Lucía Hernández")
        #expect(chat.context.description == nil)
        chat.say("mi impresora HP no imprime, tiene una luz naranja parpadeando")
        #expect(chat.acts.last == [.invitePhotos])
        #expect(chat.context.equipment == "impresora HP")
        #expect(chat.context.description == "mi impresora HP no imprime, tiene una luz naranja parpadeando")
        chat.say(.image(caption: nil))
        #expect(chat.acts.last == [.photoReceived])
        chat.say("listo")
        #expect(chat.acts.last == [.summary])
        #expect(chat.replies.last?.contains("Fotos: 1") == true)
        // The equipment question was never asked, and the name only once before it was given.
        #expect(!chat.acts.joined().contains(.askEquipment) && !chat.acts.joined().contains(.askName))
    }

    @Test func aNewCustomerIsAskedWhatIsMissingOneAtATimeAndCanCorrectTheSummary() {
        var chat = Conversation()
        chat.say("hola")
        #expect(chat.acts == [[.greeting, .askName]])
        #expect(chat.replies[0].contains("#41") && chat.replies[0].contains("nombre"))
        chat.say("me llamo ana lopez")
        #expect(chat.context.customerName == "Ana Lopez")
        #expect(chat.acts.last == [.askProblem])
        chat.say("hace ruido y atasca el papel")
        #expect(chat.acts.last == [.askEquipment])
        chat.say("no sé")
        #expect(chat.acts.last == [.invitePhotos])
        chat.say("no")
        #expect(chat.acts.last == [.summary])
        #expect(chat.replies.last?.contains("Equipo: sin indicar") == true)
        chat.say("no, el equipo es una impresora Epson L3150")
        #expect(chat.acts.last == [.summary])
        #expect(chat.context.equipment == "impresora Epson L3150")
        #expect(chat.context.description == "hace ruido y atasca el papel")
        chat.say("correcto")
        #expect(chat.acts.last == [.done])
    }

    @Test func aProblemWhereTheNameWasAskedIsKeptAndTheNameAskedAgain() {
        var chat = Conversation()
        chat.say("hola buenas tardes")
        chat.say("mi computadora se reinicia sola cada rato")
        #expect(chat.acts.last == [.askName])
        #expect(chat.context.description == "mi computadora se reinicia sola cada rato")
        #expect(chat.context.equipment == "computadora")
        chat.say("Ramón Gutiérrez")
        #expect(chat.acts.last == [.invitePhotos])
    }

    @Test(arguments: [
        ("activo 10233", "10233"), ("No. de inventario: 4455", "4455"), ("S/N 5CG1234XYZ", "5CG1234XYZ"),
        ("número de serie ABC123", "ABC123"), ("service tag 7XK2M13", "7XK2M13"), ("asset tag 889", "889"),
        ("HP Probook 440, activo INV-2231", "INV-2231"),
    ])
    func assetNumbersAreRead(_ text: String, _ asset: String) {
        #expect(IntakeExtractor.facts(in: text, asked: .equipment).asset == asset)
    }

    @Test func namesDevicesAndPlacesAreReadInSpanishAndEnglish() {
        let english = IntakeExtractor.facts(
            in: "Hi, this is John Smith from accounting. My Lenovo ThinkPad T14 keeps freezing")
        #expect(english.name == "John Smith")
        #expect(english.location == "accounting")
        #expect(english.equipment == "Lenovo ThinkPad T14")
        #expect(english.problem == "My Lenovo ThinkPad T14 keeps freezing")
        let signed = IntakeExtractor.facts(in: "El Outlook no sincroniza desde ayer.\nSaludos,\nMaría López")
        #expect(signed.name == "María López")
        #expect(signed.equipment == "Outlook")
        #expect(signed.problem == "El Outlook no sincroniza desde ayer")
        let branch = IntakeExtractor.facts(in: "habla Carlos de la sucursal Centro, la terminal no cobra con tarjeta")
        #expect(branch.name == "Carlos")
        #expect(branch.location == "sucursal Centro")
        #expect(branch.equipment == "terminal")
        #expect(IntakeExtractor.facts(in: "soy nuevo y no me deja entrar al correo").name == nil)
    }

    @Test(arguments: ["agente", "quiero hablar con un humano", "Asesor por favor!", "talk to a human"])
    func askingForAPersonHandsOffAtAnyPoint(_ text: String) {
        let start = IntakeBot.start(.text(text), context: context())
        #expect(start.state.step == .handedOff)
        #expect(
            start.replies.last?.lowercased().contains("técnico") == true
                || start.replies.last?.contains("technician") == true)
        let later = IntakeBot.next(.text(text), state: .init(step: .awaitingEquipment), context: context())
        #expect(later.acts == [.handoff])
        #expect(later.state.step == .handedOff)
    }

    @Test func longSentencesMentioningAnAgentAreNotAHandOff() {
        #expect(
            !IntakeBot.wantsHuman(
                "el agente de antivirus no deja abrir el correo y ya reinicie dos veces la computadora"))
    }

    @Test func englishCustomersAreAnsweredInEnglish() {
        #expect(IntakeBot.language(of: "hi, my laptop won't turn on") == "en")
        #expect(IntakeBot.language(of: "hola mi laptop no prende") == "es")
        let reaction = IntakeBot.start(.text("hello"), context: context(language: "en"))
        #expect(reaction.replies[0].contains("What is your name?"))
    }

    @Test(arguments: ["no se", "No sé.", "ni idea", "I don't know", "idk"])
    func unknownEquipmentIsAccepted(_ text: String) {
        #expect(IntakeExtractor.facts(in: text, asked: .equipment).unknown)
    }
}
