/// Who wrote on WhatsApp, as an identity Mostrador can match: the bridge may say `+5214771234567`,
/// `5214771234567@s.whatsapp.net`, `5214771234567@c.us` or, for privacy-mode accounts, `123456789@lid`.
struct SenderAddress: Equatable, Sendable {
    enum Kind: String, Sendable {
        case phone
        case lid
        /// A business-scoped user id from the Cloud API (`US.13491208655302741918`), for users known by a username.
        case bsuid
    }

    let kind: Kind
    /// The matching key: digits only for phones (Mexican mobiles without the old `1` after 52), the id for `@lid`.
    let value: String
    /// The address as the bridge wrote it (trimmed), used to write back to the same person.
    let address: String

    enum Problem: Error, Equatable {
        case empty
        case invalid(String)
    }

    init(_ raw: String) throws(Problem) {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .empty }
        guard trimmed.count <= 128 else { throw .invalid(String(trimmed.prefix(32)) + "…") }
        if Self.isBSUID(trimmed) {
            kind = .bsuid
            value = trimmed
            address = trimmed
            return
        }
        let lowered = trimmed.lowercased()
        let (user, server) =
            if let at = lowered.firstIndex(of: "@") {
                (String(lowered[..<at]), String(lowered[lowered.index(after: at)...]))
            } else {
                (lowered, "")
            }
        // `5214771234567:12@s.whatsapp.net` carries a device suffix: the person is the part before it.
        // Nothing before the suffix (`:5214771234567`) is no account: it would leave an empty reply address.
        let account = String(user.prefix { $0 != ":" })
        guard !account.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalid(trimmed) }
        switch server {
        case "lid":
            guard !account.isEmpty, account.allSatisfy(\.isASCIIDigit) else { throw .invalid(trimmed) }
            kind = .lid
            value = account
        case "", "s.whatsapp.net", "c.us":
            let digits = account.filter(\.isASCIIDigit)
            let allowed = account.allSatisfy { $0.isASCIIDigit || " +-().".contains($0) }
            guard allowed, (8...15).contains(digits.count) else { throw .invalid(trimmed) }
            kind = .phone
            value = Self.canonicalPhone(digits)
        default:
            throw .invalid(trimmed)
        }
        // Written back without the device suffix, which names one of the person's devices, not the person.
        if let colon = trimmed.firstIndex(of: ":") {
            let at = trimmed.firstIndex(of: "@") ?? trimmed.endIndex
            address = colon < at ? String(trimmed[..<colon] + trimmed[at...]) : trimmed
        } else {
            address = trimmed
        }
    }

    /// `CC.digits` or a parent `CC.ENT.digits`: two capital letters, then dot-separated letters and digits.
    static func isBSUID(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 4, text.utf8.count <= 160, let country = parts.first,
            country.count == 2, country.allSatisfy({ $0.isASCII && $0.isUppercase })
        else { return false }
        return parts.dropFirst().allSatisfy { part in
            !part.isEmpty && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }

    /// Mexico dropped the `1` after the country code for mobiles: `521XXXXXXXXXX` and `52XXXXXXXXXX` are one phone.
    static func canonicalPhone(_ digits: String) -> String {
        if digits.count == 13, digits.hasPrefix("521") {
            return "52" + digits.dropFirst(3)
        }
        return digits
    }

    /// How the panel shows it: `+5214771234567` for phones, the `@lid` id otherwise.
    var display: String {
        switch kind {
        case .phone: "+" + (address.split(separator: "@").first ?? "").filter(\.isASCIIDigit)
        case .lid: "\(value)@lid"
        case .bsuid: value
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
