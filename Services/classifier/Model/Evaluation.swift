import Foundation

/// Accuracy, per-label precision and recall, and the confusion matrix of predictions against gold labels.
struct Evaluation {
    let labels = ["Hardware", "Software", "unknown"]
    var confusion: [String: [String: Int]] = [:]
    var total = 0
    var correct = 0

    mutating func add(gold: String, predicted: String) {
        confusion[gold, default: [:]][predicted, default: 0] += 1
        total += 1
        if gold == predicted { correct += 1 }
    }

    var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    var unknownCount: Int { confusion.values.reduce(0) { $0 + ($1["unknown"] ?? 0) } }

    /// Accuracy among the examples that got a label (not `unknown`).
    var decidedAccuracy: Double {
        let decided = total - unknownCount
        return decided == 0 ? 0 : Double(correct) / Double(decided)
    }

    func precision(_ label: String) -> Double {
        let predicted = confusion.values.reduce(0) { $0 + ($1[label] ?? 0) }
        return predicted == 0 ? 0 : Double(confusion[label]?[label] ?? 0) / Double(predicted)
    }

    func recall(_ label: String) -> Double {
        let gold = confusion[label]?.values.reduce(0, +) ?? 0
        return gold == 0 ? 0 : Double(confusion[label]?[label] ?? 0) / Double(gold)
    }

    var report: String {
        var lines = [String(format: "examples: %d   accuracy: %.2f%%", total, accuracy * 100), ""]
        lines.append("label       precision  recall")
        for label in ["Hardware", "Software"] {
            lines.append(
                label.padding(toLength: 12, withPad: " ", startingAt: 0)
                    + String(format: "%8.2f%%  %6.2f%%", precision(label) * 100, recall(label) * 100))
        }
        lines.append("")
        lines.append("confusion (rows: gold, columns: predicted)")
        lines.append("            " + labels.map { $0.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined())
        for gold in ["Hardware", "Software"] {
            let row = labels.map {
                String(confusion[gold]?[$0] ?? 0).padding(toLength: 10, withPad: " ", startingAt: 0)
            }
            lines.append(gold.padding(toLength: 12, withPad: " ", startingAt: 0) + row.joined())
        }
        return lines.joined(separator: "\n")
    }
}
