import Foundation
import Testing

@testable import MostradorAPI
@testable import MostradorClassifier

/// The scripted intake conversations of `Tests/Fixtures/intake/dialogues.json` (written to the intake's rules, not
/// from its code; see the README there): each turn's acts, the fields at the end, and the label the classifier
/// gives the extracted problem and device.
@Suite("Intake dialogue suite")
struct DialogueSuiteTests {
    struct Suite: Decodable {
        let dialogues: [Dialogue]
    }

    struct Dialogue: Decodable, CustomTestStringConvertible {
        struct Turn: Decodable {
            let customer: String?
            let image: Bool?
            let caption: String?
            let acts: [String]
        }

        struct Expect: Decodable {
            let name: String?
            let equipmentContains: [String]
            let asset: String?
            let locationContains: String?
            let problemContains: [String]
            let problemExcludes: [String]
            let photos: Int
            let finished: String
            let label: String
        }

        let id: String
        let language: String
        let pushName: String?
        let turns: [Turn]
        let expect: Expect

        var testDescription: String { id }
    }

    static let suite: Suite = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/intake/dialogues.json").standardized
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        // A broken fixture fails every test below with this message rather than crashing the run.
        return (try? decoder.decode(Suite.self, from: Data(contentsOf: url))) ?? Suite(dialogues: [])
    }()

    static let classifier = try? ModelLoader.load(path: nil)

    /// What the intake made of a dialogue, and every difference from what the script expects.
    static func run(_ dialogue: Dialogue) -> (conversation: IntakeBotTests.Conversation, problems: [String]) {
        var chat = IntakeBotTests.Conversation(push: dialogue.pushName, language: dialogue.language)
        var problems: [String] = []
        for (number, turn) in dialogue.turns.enumerated() {
            if turn.image == true {
                chat.say(.image(caption: turn.caption))
            } else {
                chat.say(turn.customer ?? "")
            }
            let acts = chat.acts.last?.map(\.rawValue) ?? []
            if acts != turn.acts {
                problems.append("turn \(number + 1) «\(turn.customer ?? "📷")»: acts \(acts), expected \(turn.acts)")
            }
        }
        let context = chat.context
        let expect = dialogue.expect
        let fold = { (text: String) in text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil) }
        if context.customerName != expect.name {
            problems.append("name \(context.customerName ?? "nil"), expected \(expect.name ?? "nil")")
        }
        let equipment = context.equipment.map(fold) ?? ""
        for part in expect.equipmentContains where !equipment.contains(fold(part)) {
            problems.append("equipment «\(context.equipment ?? "nil")» lacks «\(part)»")
        }
        if expect.equipmentContains.isEmpty, let stored = context.equipment {
            problems.append("equipment «\(stored)», expected none")
        }
        if context.asset != expect.asset {
            problems.append("asset \(context.asset ?? "nil"), expected \(expect.asset ?? "nil")")
        }
        switch (context.location, expect.locationContains) {
        case (nil, nil): break
        case (let found?, let wanted?) where fold(found).contains(fold(wanted)): break
        default: problems.append("location \(context.location ?? "nil"), expected \(expect.locationContains ?? "nil")")
        }
        let problem = context.description.map(fold) ?? ""
        for part in expect.problemContains where !problem.contains(fold(part)) {
            problems.append("problem «\(context.description ?? "nil")» lacks «\(part)»")
        }
        for part in expect.problemExcludes where problem.contains(fold(part)) {
            problems.append("problem «\(context.description ?? "nil")» contains «\(part)»")
        }
        if chat.state.photos != expect.photos {
            problems.append("photos \(chat.state.photos), expected \(expect.photos)")
        }
        let finished = chat.state.step == .handedOff ? "handoff" : chat.state.step == .done ? "done" : "open"
        if finished != expect.finished { problems.append("finished \(finished), expected \(expect.finished)") }
        return (chat, problems)
    }

    @Test func theSuiteIsThere() {
        #expect(Self.suite.dialogues.count >= 40)
    }

    @Test(arguments: suite.dialogues)
    func dialogue(_ dialogue: Dialogue) {
        let (_, problems) = Self.run(dialogue)
        #expect(problems.isEmpty, Comment(rawValue: problems.joined(separator: "\n")))
    }

    /// The label the classifier gives what the intake extracted (the problem, with the device when the problem does
    /// not name it), against the script's: the two conversations of issue 14 exactly, the rest at 90% or better.
    @Test func theExtractedProblemIsLabelledAsTheScriptSays() throws {
        let classifier = try #require(Self.classifier)
        var wrong: [String] = []
        for dialogue in Self.suite.dialogues {
            let context = Self.run(dialogue).conversation.context
            guard let description = context.description else { continue }
            var decided = classifier
            decided.threshold = 0
            let label = decided.classify(
                TicketLabeler.input(description: description, equipment: context.equipment)
            ).label.rawValue
            if label != dialogue.expect.label {
                wrong.append("\(dialogue.id): \(label), expected \(dialogue.expect.label)")
            }
        }
        #expect(!wrong.contains { $0.hasPrefix("push-name-lucia") || $0.hasPrefix("laptop-activo") }, "\(wrong)")
        let accuracy = 1 - Double(wrong.count) / Double(max(1, Self.suite.dialogues.count))
        #expect(accuracy >= 0.9, Comment(rawValue: wrong.joined(separator: "\n")))
    }
}
