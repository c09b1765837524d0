import Foundation

/// Phrases of one or more folded words (lowercase, no accents), each with how to show it.
struct PhraseDictionary: Sendable {
    private var entries: [[String]: String] = [:]
    private var longest = 1
    /// Every word of every phrase.
    private(set) var words: Set<String> = []

    /// `phrases`: "laptop", "lap top", "computadora portatil" (folded) → shown as written in the message, or as
    /// `canonical` when given.
    init(_ phrases: [String], canonical: [String: String] = [:]) {
        for phrase in phrases {
            let key = phrase.split(separator: " ").map(String.init)
            entries[key] = canonical[phrase] ?? phrase
            longest = max(longest, key.count)
            words.formUnion(key)
        }
        for (phrase, shown) in canonical where entries[phrase.split(separator: " ").map(String.init)] == nil {
            let key = phrase.split(separator: " ").map(String.init)
            entries[key] = shown
            longest = max(longest, key.count)
            words.formUnion(key)
        }
    }

    /// The longest phrase starting at `position` (its length in tokens and how to show it).
    func longestMatch(in tokens: [IntakeExtractor.Token], at position: Int) -> (Int, String)? {
        guard position < tokens.count, tokens[position].isWord else { return nil }
        for length in stride(from: min(longest, tokens.count - position), through: 1, by: -1) {
            let slice = tokens[position..<position + length]
            guard slice.allSatisfy(\.isWord), let shown = entries[slice.map(\.key)] else { continue }
            return (length, shown)
        }
        return nil
    }
}

/// The words the intake reads customers with (folded: lowercase, no accents).
enum IntakeVocabulary {
    struct NameOpener: Sendable {
        let words: [String]
        /// Strong openers introduce a name even in lowercase ("me llamo ana"); weak ones only a capitalised one
        /// ("soy Ana", not "soy nuevo"; "this is John", not "this is broken").
        let strong: Bool
    }

    static let nameOpeners: [NameOpener] = [
        .init(words: ["mi", "nombre", "es"], strong: true), .init(words: ["me", "llamo"], strong: true),
        .init(words: ["my", "name", "is"], strong: true), .init(words: ["le", "escribe"], strong: false),
        .init(words: ["les", "escribe"], strong: false), .init(words: ["te", "escribe"], strong: false),
        .init(words: ["habla"], strong: false), .init(words: ["soy"], strong: false),
        .init(words: ["i", "am"], strong: false), .init(words: ["i'm"], strong: false),
        .init(words: ["im"], strong: false), .init(words: ["this", "is"], strong: false),
        .init(words: ["it's"], strong: false),
    ]

    static let greetingWords: Set<String> = [
        "hola", "buenas", "buenos", "buen", "dia", "dias", "tardes", "noches", "hi", "hello", "hey", "que", "tal",
        "ola", "saludos", "good", "morning", "afternoon", "evening", "oye", "disculpe", "disculpa", "una", "pregunta",
        "ayuda", "help", "please", "porfa", "favor", "por", "holi", "qué", "buenass", "hello,", "there", "ey",
    ]

    static let closingWords: Set<String> = [
        "gracias", "saludos", "atte", "atentamente", "quedo", "atento", "atenta", "pendiente", "thanks", "thank",
        "you", "regards", "best", "cordialmente", "bendiciones", "bonito", "excelente", "muchas", "mil",
    ]

    /// Words a name is not made of: what problems, devices, greetings and sentences are made of.
    static let notNameWords: Set<String> = {
        var words: Set<String> = [
            "de", "del", "la", "el", "los", "las", "y", "e", "o", "u", "a", "al", "en", "con", "por", "para", "sin",
            "mi", "mis", "tu", "su", "sus", "un", "una", "unos", "unas", "que", "se", "me", "te", "le", "lo", "no",
            "si", "ya", "es", "esta", "estoy", "son", "fue", "era", "hay", "tengo", "tiene", "tenemos", "desde",
            "ayer", "hoy", "nuevo", "nueva", "encargado", "encargada", "cliente", "usuario", "jefe", "jefa", "gerente",
            "from", "and", "the", "an", "in", "on", "at", "with", "my", "your", "is", "not", "it", "this", "that",
            "to", "of", "for", "have", "has", "new", "here", "broken", "working", "sorry", "perdon", "disculpa",
            "equipo", "problema", "falla", "error", "pantalla", "nada", "todo", "bien", "mal", "muy", "mas",
            "tambien", "pero", "porque", "cuando", "donde", "como", "also", "but", "when", "because", "still",
            "urgente", "urgent", "activo", "inventario", "serie", "serial", "correo", "email", "internet", "wifi",
            "red", "sistema", "programa", "impresion", "sonido", "carga", "prende", "enciende", "funciona", "sirve",
            "imprime", "abre", "conecta", "trabo", "traba", "congela", "apaga", "reinicia", "lento", "lenta", "rota",
            "roto", "listo", "ok", "gracias", "thanks", "yes", "sí", "claro", "ninguna", "ninguno",
        ]
        words.formUnion(greetingWords)
        words.formUnion(closingWords)
        words.formUnion(problemCues)
        return words
    }()

    /// Words that make a text a problem report even when it is short: "no carga", "pantalla rota".
    static let problemCues: Set<String> = [
        "no", "ni", "sin", "falla", "fallo", "fallando", "error", "errores", "roto", "rota", "rompio", "lento",
        "lenta", "trabado", "trabada", "trabo", "traba", "congela", "congelo", "congelado", "apaga", "apago",
        "reinicia", "prende", "enciende", "funciona", "sirve", "imprime", "abre", "conecta", "carga", "virus",
        "ruido", "calienta", "manchas", "rayas", "parpadea", "parpadeando", "atasca", "atascado", "atora",
        "bloqueado", "bloqueada", "olvide", "contrasena", "not", "won't", "wont", "can't", "cant", "doesn't",
        "doesnt", "isn't", "broken", "slow", "crash", "crashes", "fails", "failing", "stuck", "frozen", "freezes",
        "dead", "errors", "noise", "overheating", "flickering", "jammed", "locked", "forgot", "password",
        "cracked", "won’t", "can’t", "doesn’t", "nprende", "noprende", "sirbe", "jala", "jalando", "stopped",
        "spilled", "expired", "keeps", "derrame", "tire", "cayo", "mojo", "vencio", "marca", "sale",
        "aparece", "dañado", "danado", "damaged", "corrupt", "shows", "says",
    ]

    static let assetCues: [[String]] = [
        ["numero", "de", "serie"], ["no", "de", "serie"], ["num", "de", "serie"], ["numero", "de", "inventario"],
        ["no", "de", "inventario"], ["num", "de", "inventario"], ["numero", "de", "activo"], ["no", "de", "activo"],
        ["activo", "fijo"], ["service", "tag"], ["asset", "tag"], ["asset", "number"], ["serial", "number"],
        ["serial", "no"], ["etiqueta", "de", "activo"], ["activo"], ["inventario"], ["serie"], ["s/n"], ["sn"],
        ["serial"], ["asset"], ["etiqueta"], ["tag"], ["folio"],
    ]
    /// What may stand between the cue and the number: "activo: 10233", "inventario es el #4455", "S/N es ABC".
    static let assetFillers: Set<String> = [
        ":", "#", "es", "is", "el", "la", "no", "num", "numero", "number", ".", "-", "nº", "n°", "de", "del", "equipo",
    ]

    static let locationFillers: Set<String> = [
        "el", "la", "area", "departamento", "depto", "oficina", "oficinas", "de", "the", "department", "dept",
        "office", "area,", "gerencia",
    ]

    static let departments = PhraseDictionary([
        "contabilidad", "ventas", "recursos humanos", "rh", "rrhh", "sistemas", "compras", "almacen", "recepcion",
        "direccion", "direccion general", "gerencia", "administracion", "finanzas", "cobranza", "logistica",
        "marketing", "mercadotecnia", "caja", "cajas", "produccion", "calidad", "mantenimiento", "facturacion",
        "tesoreria", "juridico", "legal", "nominas", "nomina", "credito", "atencion a clientes", "servicio al cliente",
        "accounting", "sales", "hr", "human resources", "purchasing", "warehouse", "reception", "front desk",
        "finance", "billing", "shipping", "customer service", "operations", "operaciones", "embarques",
    ])

    static let deviceTypes = PhraseDictionary([
        "laptop", "lap", "lap top", "laptops", "portatil", "computadora portatil", "notebook", "netbook", "ultrabook",
        "chromebook", "computadora", "compu", "computador", "pc", "cpu", "desktop", "equipo de escritorio",
        "computadora de escritorio", "all in one", "todo en uno", "computer", "impresora", "printer",
        "multifuncional", "plotter", "copiadora", "fotocopiadora", "telefono", "celular", "cel", "smartphone",
        "movil", "phone", "cellphone", "conmutador", "tablet", "tableta", "monitor", "teclado", "keyboard", "mouse",
        "raton", "audifonos", "diadema", "headset", "bocinas", "camara", "webcam", "escaner", "scanner", "proyector",
        "projector", "no break", "nobreak", "ups", "regulador", "router", "ruteador", "modem", "switch",
        "access point", "repetidor", "servidor", "server", "nas", "disco duro", "hard drive", "ssd", "memoria usb",
        "usb", "terminal", "terminal punto de venta", "punto de venta", "tpv", "pos", "lector de codigo de barras",
        "lector", "cajon de dinero", "reloj checador", "checador", "impresora de tickets", "miniprinter",
        "television", "tv", "pantalla de la sala", "consola", "radio", "dvr", "camaras de seguridad",
    ])

    static let brands = PhraseDictionary(
        [],
        canonical: [
            "dell": "Dell", "hp": "HP", "hewlett packard": "Hewlett Packard", "lenovo": "Lenovo", "acer": "Acer",
            "asus": "Asus", "apple": "Apple", "macbook": "MacBook", "imac": "iMac", "iphone": "iPhone", "ipad": "iPad",
            "samsung": "Samsung", "huawei": "Huawei", "xiaomi": "Xiaomi", "motorola": "Motorola", "moto": "Moto",
            "epson": "Epson", "canon": "Canon", "brother": "Brother", "xerox": "Xerox", "kyocera": "Kyocera",
            "ricoh": "Ricoh", "lexmark": "Lexmark", "toshiba": "Toshiba", "sony": "Sony", "lg": "LG", "cisco": "Cisco",
            "tp-link": "TP-Link", "tplink": "TP-Link", "ubiquiti": "Ubiquiti", "mikrotik": "MikroTik",
            "logitech": "Logitech", "surface": "Surface", "zebra": "Zebra", "honeywell": "Honeywell",
            "alcatel": "Alcatel", "oppo": "Oppo", "compaq": "Compaq", "msi": "MSI", "alienware": "Alienware",
            "verifone": "Verifone", "ingenico": "Ingenico", "thinkpad": "ThinkPad", "hikvision": "Hikvision",
            "dahua": "Dahua", "apc": "APC", "cyberpower": "CyberPower", "kingston": "Kingston",
            "western digital": "Western Digital", "seagate": "Seagate", "benq": "BenQ", "viewsonic": "ViewSonic",
            "gateway": "Gateway", "vorago": "Vorago", "ghia": "Ghia", "perfect choice": "Perfect Choice",
            "redmi": "Redmi", "galaxy": "Galaxy", "pixel": "Pixel", "nokia": "Nokia", "zte": "ZTE",
            "epson ecotank": "Epson EcoTank", "xbox": "Xbox", "playstation": "PlayStation", "nintendo": "Nintendo",
        ])

    /// Model series that follow a brand without digits.
    static let series: Set<String> = [
        "latitude", "inspiron", "vostro", "optiplex", "xps", "precision", "thinkpad", "ideapad", "thinkcentre",
        "thinkbook", "yoga", "legion", "probook", "elitebook", "elitedesk", "prodesk", "pavilion", "envy", "omen",
        "spectre", "victus", "laserjet", "deskjet", "officejet", "ecotank", "smart", "tank", "pixma", "maxify",
        "imageclass", "aspire", "nitro", "vivobook", "zenbook", "rog", "tuf", "galaxy", "air", "pro", "mini", "max",
        "plus", "ultra", "note", "redmi", "workforce", "versalink", "altalink", "ecosys", "chromebook", "surface",
        "book", "go", "lite", "mfc", "dcp", "hl", "satellite", "tecra", "edge", "g", "moto",
    ]

    static let software = PhraseDictionary(
        [],
        canonical: [
            "outlook": "Outlook", "excel": "Excel", "exel": "Excel", "word": "Word", "powerpoint": "PowerPoint",
            "office": "Office", "microsoft office": "Microsoft Office", "office 365": "Office 365",
            "microsoft 365": "Microsoft 365", "teams": "Teams", "windows": "Windows", "contpaq": "CONTPAQi",
            "contpaqi": "CONTPAQi", "aspel": "Aspel", "sap": "SAP", "vpn": "VPN", "chrome": "Chrome",
            "google chrome": "Google Chrome", "zoom": "Zoom", "gmail": "Gmail", "quickbooks": "QuickBooks",
            "autocad": "AutoCAD", "photoshop": "Photoshop", "eset": "ESET", "norton": "Norton", "mcafee": "McAfee",
            "kaspersky": "Kaspersky", "antivirus": "antivirus", "onedrive": "OneDrive", "sharepoint": "SharePoint",
            "dropbox": "Dropbox", "whatsapp web": "WhatsApp Web", "anydesk": "AnyDesk", "teamviewer": "TeamViewer",
            "adobe": "Adobe", "acrobat": "Acrobat", "firefox": "Firefox", "edge": "Edge", "odoo": "Odoo",
            "salesforce": "Salesforce", "sql server": "SQL Server", "macos": "macOS", "android": "Android",
            "ios": "iOS", "forticlient": "FortiClient", "sicar": "SICAR", "eleventa": "Eleventa", "nomipaq": "NOMIPAQ",
            "facturacion electronica": "facturación electrónica", "correo": "correo", "email": "email",
            "e-mail": "email",
        ])
    static let softwareEditions: Set<String> = [
        "sae", "coi", "noi", "caja", "banco", "prod", "facture", "comercial", "contabilidad", "nominas", "xp",
        "vista", "pro", "home", "business", "365", "web", "desktop", "premium",
    ]

    static let problemRestatements: [[String]] = [
        ["el", "problema", "es"], ["la", "falla", "es"], ["the", "problem", "is"], ["the", "issue", "is"],
        ["lo", "que", "pasa", "es"],
    ]

    static let correctionCues: [[String]] = [
        ["no", ","], ["no", "."], ["perdon"], ["corrijo"], ["correccion"], ["me", "equivoque"], ["sorry"],
        ["actually"], ["en", "realidad"], ["mas", "bien"], ["mejor", "dicho"], ["disculpa"], ["disculpe"],
        ["oops"], ["wait"],
    ]

    static func normalizedAnswer(_ text: String) -> String {
        IntakeExtractor.fold(text)
            .components(
                separatedBy: CharacterSet.alphanumerics.union(.whitespaces).union(CharacterSet(charactersIn: "'"))
                    .inverted
            )
            .joined(separator: " ")
            .split(separator: " ").joined(separator: " ")
    }

    static let unknownAnswers: Set<String> = [
        "no", "no se", "nose", "no lo se", "ni idea", "no tengo idea", "no sabemos", "desconozco", "no tengo",
        "no se cual",
        "no lo tengo", "n a", "na", "i don't know", "i dont know", "dont know", "don't know", "no idea", "unknown",
        "idk", "not sure", "no estoy seguro", "no estoy segura",
    ]

    static let affirmativeAnswers: Set<String> = [
        "si", "sip", "sii", "correcto", "es correcto", "si es correcto", "si correcto", "esta bien", "si esta bien",
        "asi es", "ok", "okay", "okey", "va", "sale", "perfecto", "exacto", "todo bien", "todo correcto",
        "de acuerdo", "si gracias", "ok gracias", "correcto gracias", "yes", "yep", "yeah", "correct",
        "that's right", "thats right", "right", "all good", "looks good", "yes thanks", "yes correct",
    ]

    static let finishedAnswers: Set<String> = [
        "listo", "ya", "ya esta", "es todo", "eso es todo", "no", "no tengo", "no tengo fotos", "sin fotos", "nada",
        "ninguna", "no gracias", "no hay fotos", "no tengo foto", "done", "no photos", "no photo", "thats all",
        "that's all", "nope", "finished", "ready", "no thanks", "i don't have photos", "i dont have photos",
        "ya termine", "termine",
    ]
}
