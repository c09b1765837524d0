import Testing

@testable import MostradorAPI

@Suite("The intake assistant's dialogue")
struct IntakeBotTests {
    func context(name: String? = nil, description: String? = nil, language: String = "es") -> IntakeBot.Context {
        IntakeBot.Context(
            ticketID: 41, customerName: name, description: description, equipment: nil, language: language)
    }

    @Test func newCustomerIsAskedNameProblemEquipmentPhotosThenGetsASummary() {
        var reaction = IntakeBot.start(.text("hola"), context: context())
        #expect(reaction.state.step == .awaitingName)
        #expect(reaction.replies.count == 1)
        #expect(reaction.replies[0].contains("#41") && reaction.replies[0].contains("nombre"))
        #expect(reaction.description == nil)

        reaction = IntakeBot.next(.text("me llamo ana lopez"), state: reaction.state, context: context())
        #expect(reaction.customerName == "Ana Lopez")
        #expect(reaction.state.step == .awaitingDescription)

        reaction = IntakeBot.next(
            .text("la impresora hace ruido y atasca el papel"), state: reaction.state,
            context: context(name: "Ana Lopez"))
        #expect(reaction.description == "la impresora hace ruido y atasca el papel")
        #expect(reaction.state.step == .awaitingEquipment)

        reaction = IntakeBot.next(
            .text("no sé"), state: reaction.state,
            context: context(name: "Ana Lopez", description: "atasca"))
        #expect(reaction.clearEquipment)
        #expect(reaction.state.step == .awaitingPhotos)
        #expect(reaction.replies[0].contains("fotos"))

        reaction = IntakeBot.next(.image(caption: nil), state: reaction.state, context: context(name: "Ana Lopez"))
        #expect(reaction.state.photos == 1)
        #expect(reaction.replies[0].contains("Foto 1"))

        reaction = IntakeBot.next(
            .text("listo"), state: reaction.state,
            context: context(name: "Ana Lopez", description: "la impresora hace ruido"))
        #expect(reaction.state.step == .done)
        let summary = reaction.replies[0]
        #expect(summary.contains("#41") && summary.contains("Ana Lopez") && summary.contains("la impresora hace ruido"))
        #expect(summary.contains("Fotos: 1") && summary.contains("sin indicar"))

        // After the intake the assistant stays quiet.
        #expect(IntakeBot.next(.text("hola?"), state: reaction.state, context: context()).replies.isEmpty)
    }

    @Test func aKnownCustomerIsGreetedByNameAndAFirstMessageThatTellsTheProblemIsNotAskedAgain() {
        let reaction = IntakeBot.start(
            .text("buenas, mi laptop dell no enciende desde ayer"), context: context(name: "Juan"))
        #expect(reaction.replies[0].contains("Juan"))
        #expect(reaction.description == "buenas, mi laptop dell no enciende desde ayer")
        #expect(reaction.state.step == .awaitingEquipment)
    }

    @Test(arguments: ["agente", "quiero hablar con un humano", "Asesor por favor!", "talk to a human"])
    func askingForAPersonHandsOffAtAnyPoint(_ text: String) {
        let start = IntakeBot.start(.text(text), context: context())
        #expect(start.state.step == .handedOff)
        #expect(
            start.replies.last?.lowercased().contains("técnico") == true
                || start.replies.last?.contains("technician") == true)
        let later = IntakeBot.next(.text(text), state: .init(step: .awaitingEquipment), context: context())
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
        #expect(IntakeBot.isUnknown(text))
    }
}
