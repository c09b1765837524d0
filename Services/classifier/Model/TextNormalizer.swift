/// Puts WhatsApp text in one canonical form before features are taken: lower case, no accents, letters repeated
/// three or more times cut to two ("siiiii" → "sii"), common chat abbreviations spelled out, emoji kept as tokens
/// of their own, everything else that is not a letter or digit turned into spaces.
///
/// Works on Unicode scalars with a table for Latin letters (the hot path of every classification), falling back to
/// Unicode properties for anything else.
enum TextNormalizer {
    static let abbreviations: [String: [String]] = [
        "q": ["que"], "k": ["que"], "xq": ["porque"], "pq": ["porque"], "porq": ["porque"], "xk": ["porque"],
        "tmb": ["tambien"], "tb": ["tambien"], "tmbn": ["tambien"], "x": ["por"], "xfa": ["por", "favor"],
        "porfa": ["por", "favor"], "pls": ["please"], "plz": ["please"], "d": ["de"], "ntp": ["no", "te", "preocupes"],
        "compu": ["computadora"], "lap": ["laptop"], "cel": ["celular"], "impresroa": ["impresora"],
        "contrasena": ["contraseña"], "pw": ["password"], "pwd": ["password"], "u": ["you"], "ur": ["your"],
        "pc": ["computadora"], "msj": ["mensaje"], "msg": ["mensaje"], "info": ["informacion"],
    ]

    /// Latin letters with diacritics → their base letter (lower case).
    static let latin: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        let groups: [(String, Character)] = [
            ("àáâãäåÀÁÂÃÄÅāĀ", "a"), ("èéêëÈÉÊËēĒ", "e"), ("ìíîïÌÍÎÏīĪ", "i"), ("òóôõöÒÓÔÕÖōŌ", "o"),
            ("ùúûüÙÚÛÜūŪ", "u"), ("ñÑ", "n"), ("çÇ", "c"), ("ýÿÝ", "y"),
        ]
        for (letters, base) in groups {
            for scalar in letters.unicodeScalars { table[scalar.value] = base.asciiValue! }
        }
        return table
    }()

    /// Normalised tokens of `text`.
    static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current: [UInt8] = []
        current.reserveCapacity(32)
        var last: UInt8 = 0
        var run = 0
        func flush() {
            guard !current.isEmpty else { return }
            let token = String(decoding: current, as: UTF8.self)
            if let expanded = abbreviations[token] { tokens.append(contentsOf: expanded) } else { tokens.append(token) }
            current.removeAll(keepingCapacity: true)
            last = 0
            run = 0
        }
        func append(_ byte: UInt8, isLetter: Bool) {
            if byte == last {
                run += 1
                if run >= 2 && isLetter { return }
            } else {
                run = 0
            }
            last = byte
            current.append(byte)
        }
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x80 {
                let byte = UInt8(value)
                switch byte {
                case 0x61...0x7A: append(byte, isLetter: true)
                case 0x41...0x5A: append(byte + 0x20, isLetter: true)
                case 0x30...0x39: append(byte, isLetter: false)
                default: flush()
                }
            } else if let base = latin[value] {
                append(base, isLetter: true)
            } else if (0x300...0x36F).contains(value) {
                continue  // a combining accent of a decomposed letter
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                for byte in String(scalar).lowercased().utf8 { current.append(byte) }
                last = 0
            } else if scalar.properties.isEmojiPresentation {
                flush()
                tokens.append(String(scalar))
            } else {
                flush()
            }
        }
        flush()
        return tokens
    }
}
