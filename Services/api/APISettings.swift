import ArgumentParser
import Foundation
import MostradorServiceKit
import MostradorStorage

/// The api's own settings, from `MOSTRADOR_*` variables.
struct APISettings: Sendable {
    /// Shared secret of the WhatsApp bridge (`Authorization: Bearer …` on `/webhook`); webhooks are refused without it.
    var webhookToken: String?
    /// How long `enviar-mensaje` waits for the relay's outcome before answering 504.
    var sendWait: Duration = .seconds(5)
    var adminUser: String?
    var adminPassword: String?
    var sessionLifetime: Duration = .seconds(12 * 3600)
    /// How long a session read from the database is trusted without reading it again (`SessionCache`; 0: off).
    var sessionCacheLifetime: Duration = .seconds(2)
    /// An operator-edited message templates file (JSON) replacing the built-in one.
    var templatesFile: String?
    /// Whether the assistant runs the intake of new WhatsApp tickets (`MOSTRADOR_INTAKE=off` turns it off).
    var intake = true
    /// Guest chat: how long a started session waits for the profile, and how many chats one IP may start per window.
    var guestSessionLifetime: TimeInterval = 30 * 60
    var guestChatsPerIP = 5
    var guestChatWindow: TimeInterval = 3600
    /// The OpenAI-compatible endpoint the intake asks to read customers' messages (`MOSTRADOR_LLM_URL`, the same
    /// setting the classifier uses; nil: the local extractor only), its model, key and time limit.
    var llmURL: String?
    var llmModel = "llama3.2"
    var llmAPIKey: String?
    var llmTimeout: Duration = .seconds(3)
    /// reCAPTCHA on `complete_chat`: off unless a secret is set.
    var recaptchaSecret: String?
    var recaptchaVerifyURL = "https://www.google.com/recaptcha/api/siteverify"
    var recaptchaMinimumScore = 0.5
    /// The guest page's widget: the site key (public by design), `v2` (the checkbox) or `v3` (a score, no
    /// checkbox), and where the browser loads Google's script from (a stand-in in tests).
    var recaptchaSiteKey: String?
    var recaptchaVersion = "v2"
    var recaptchaScriptURL = "https://www.google.com/recaptcha/api.js"
    /// The panel's static files (`MOSTRADOR_PUBLIC_DIR`, default: those bundled with the build).
    var publicDirectory: String?
    /// `full` (default): every commit survives power loss. `normal`: survives a crash of the process only.
    var durability = DatabaseFactory.Durability.full
    /// PostgreSQL instead of the data folder's SQLite file (`postgres://user:password@host:port/database`).
    var databaseURL: String?
    /// Origins allowed to call the api from their pages (`MOSTRADOR_CORS_ORIGINS`); none by default.
    var corsOrigins: Set<String> = []
    /// When to send `Strict-Transport-Security` (`MOSTRADOR_HSTS`: on, off, auto).
    var hsts = HSTSPolicy.auto
    /// Web visitors' messages: per guest a minute (and at most `guestMessageBurst` in any 10 s), per client address
    /// a minute.
    var guestMessagesPerMinute = 20
    var guestMessageBurst = 8
    var addressMessagesPerMinute = 60
    /// Uploads: outstanding grants per WebSocket connection and in all, uploads at once, files and bytes per ticket.
    var uploadGrantsPerConnection = 5
    var uploadGrantsTotal = 10_000
    var concurrentUploads = 8
    var filesPerTicket = 50
    var bytesPerTicket = 100 << 20
    /// Uploads and webhook media are refused with 507 below this much free space in the data directory.
    var minimumFreeDiskBytes: Int64 = 512 << 20
    /// Free bytes at a path (`statvfs` unless a test replaces it).
    var freeDiskProbe: @Sendable (String) -> Int64? = FreeDiskGuard.statvfsProbe
    /// HMAC key of `X-Mostrador-Signature` on `/webhook` (off when nil) and how far its `t=` may be from now.
    var webhookHMACKey: String?
    var webhookMaximumSkew: TimeInterval = 300
    /// New WhatsApp tickets one sender may open per hour (0: no cap).
    var webhookNewTicketsPerSenderHour = 5
    /// Outbound webhooks: attempts per event and receiver before giving up (waits double from 1 s to 5 minutes, so
    /// 30 attempts cover about two hours), how long one POST may take, and whether URLs may name loopback,
    /// private or link-local addresses (off: an admin's session must not reach the machine's own network).
    /// How often missed SLA targets are looked for.
    var slaCheckInterval: Duration = .seconds(30)
    /// Tickets a CSV export reads per database read (tests make it small to cross pages).
    var exportPageSize = 500
    var outboundWebhookAttempts = 30
    var outboundWebhookTimeout: Duration = .seconds(10)
    var outboundWebhooksAllowPrivate = false
    /// Days after which processed ids, read notifications and orphaned files are removed (0: keep forever).
    var retentionDays = 90
    /// Meta's WhatsApp Cloud API webhook (`/webhooks/whatsapp-cloud`): the verify token of the GET handshake and
    /// the App Secret that signs every POST (`X-Hub-Signature-256`); the webhook refuses everything without them.
    var cloudVerifyToken: String?
    var cloudAppSecret: String?
    /// The gateways' addresses and keys (the relay's same variables): media downloads and `@lid` lookups.
    var gateways = WhatsAppGateways()
    /// WAHA signs its webhooks with HMAC-SHA512 under this key (`X-Webhook-Hmac`); refused without it.
    var wahaHMACKey: String?
    /// Evolution API does not sign: its webhook carries `Authorization: Bearer <token>` (a static header set in the
    /// webhook's `headers`) or a JWT (HS256) that Evolution signs with `jwt_key`.
    var evolutionWebhookToken: String?
    var evolutionJWTKey: String?
    /// Proxies whose `X-Forwarded-For` (or `Forwarded`) names the client (`MOSTRADOR_TRUSTED_PROXIES`; none).
    var trustedProxies = TrustedProxies()
    /// Login: attempts that may fail per username and per client within the window, then 429 until it passes.
    var loginFailuresPerUser = 5
    var loginFailuresPerClient = 20
    var loginWindow: TimeInterval = 15 * 60
    /// bcrypt's own threads (default: one per core) and how many hashes may wait for them (default: twice that).
    var bcryptThreads = ProcessInfo.processInfo.activeProcessorCount
    var bcryptQueue: Int?

    /// WebSockets open at once per token (agent session or room) and per client address, on each instance.
    var webSocketsPerToken = 10
    var webSocketsPerAddress = 50
    /// Frames that may wait for one slow WebSocket client; beyond, it gets a `resync` frame and is closed.
    var webSocketFrameBuffer = LiveConnection.defaultCapacity
    /// A closed chat's room token stops working this long after closing.
    var roomTokenLifetimeAfterClose: TimeInterval = 7 * 86400
    /// How often expired sessions are deleted, and how often open agent sockets are checked against their session.
    var sessionPurgeInterval: Duration = .seconds(600)
    var sessionSweepInterval: Duration = .seconds(30)

    init() {}

    init(_ configuration: ServiceConfiguration) throws {
        webhookToken = configuration.setting("MOSTRADOR_WEBHOOK_TOKEN")
        // Every number of seconds, minutes or hours is checked finite and within bounds (review R6): `inf`, `nan`,
        // `1e20` or `-5` is a configuration error, never a trap in a conversion.
        sendWait = try configuration.seconds("MOSTRADOR_SEND_WAIT_SECONDS", default: 5, within: 0.01...60)
        adminUser = configuration.setting("MOSTRADOR_ADMIN_USER")
        adminPassword = configuration.setting("MOSTRADOR_ADMIN_PASSWORD")
        if (adminUser == nil) != (adminPassword == nil) {
            throw ValidationError("MOSTRADOR_ADMIN_USER and MOSTRADOR_ADMIN_PASSWORD go together")
        }
        if let password = adminPassword, password.count < 8 {
            throw ValidationError("MOSTRADOR_ADMIN_PASSWORD must have at least 8 characters")
        }
        let hours = try configuration.number("MOSTRADOR_SESSION_HOURS", default: 12, within: 0.01...8784)
        sessionLifetime = .clampedSeconds(hours * 3600, in: 1...(8784 * 3600))
        sessionCacheLifetime = try configuration.seconds("MOSTRADOR_SESSION_CACHE_SECONDS", default: 2, within: 0...60)
        templatesFile = configuration.setting("MOSTRADOR_TEMPLATES_FILE")
        publicDirectory = configuration.setting("MOSTRADOR_PUBLIC_DIR")
        guestSessionLifetime =
            try configuration.number("MOSTRADOR_GUEST_SESSION_MINUTES", default: 30, within: 1...10080) * 60
        guestChatsPerIP = try configuration.setting("MOSTRADOR_GUEST_CHATS_PER_IP", default: 5)
        guestChatWindow =
            try configuration.number("MOSTRADOR_GUEST_CHAT_WINDOW_MINUTES", default: 60, within: 1...10080) * 60
        llmURL = configuration.setting("MOSTRADOR_LLM_URL")
        llmModel = configuration.setting("MOSTRADOR_LLM_MODEL") ?? llmModel
        llmAPIKey = configuration.setting("MOSTRADOR_LLM_API_KEY")
        llmTimeout = try configuration.seconds("MOSTRADOR_LLM_TIMEOUT_SECONDS", default: 3, within: 0.1...60)
        recaptchaSecret = configuration.setting("MOSTRADOR_RECAPTCHA_SECRET")
        recaptchaVerifyURL = configuration.setting("MOSTRADOR_RECAPTCHA_VERIFY_URL") ?? recaptchaVerifyURL
        recaptchaMinimumScore = try configuration.number("MOSTRADOR_RECAPTCHA_MIN_SCORE", default: 0.5, within: 0...1)
        recaptchaSiteKey = configuration.setting("MOSTRADOR_RECAPTCHA_SITE_KEY")
        recaptchaVersion = configuration.setting("MOSTRADOR_RECAPTCHA_VERSION")?.lowercased() ?? recaptchaVersion
        guard ["v2", "v3"].contains(recaptchaVersion) else {
            throw ValidationError("MOSTRADOR_RECAPTCHA_VERSION must be v2 or v3, not '\(recaptchaVersion)'")
        }
        if let script = configuration.setting("MOSTRADOR_RECAPTCHA_SCRIPT_URL") {
            guard let url = URL(string: script), ["https", "http"].contains(url.scheme?.lowercased() ?? ""),
                url.host != nil
            else { throw ValidationError("MOSTRADOR_RECAPTCHA_SCRIPT_URL must be an http(s) URL, not '\(script)'") }
            recaptchaScriptURL = script
        }
        // A secret without a site key made every visitor fail the check (the page had no widget to get a token).
        if recaptchaSecret != nil, recaptchaSiteKey == nil {
            throw ValidationError(
                "MOSTRADOR_RECAPTCHA_SECRET needs MOSTRADOR_RECAPTCHA_SITE_KEY: without it the guest page has no widget"
            )
        }
        do {
            corsOrigins = try CrossOriginMiddleware<APIRequestContext>.parse(
                configuration.setting("MOSTRADOR_CORS_ORIGINS") ?? "")
        } catch {
            throw ValidationError(error.description)
        }
        let hstsText = configuration.setting("MOSTRADOR_HSTS")?.lowercased() ?? "auto"
        guard let hstsPolicy = HSTSPolicy(rawValue: hstsText) else {
            throw ValidationError("MOSTRADOR_HSTS must be on, off or auto, not '\(hstsText)'")
        }
        hsts = hstsPolicy
        try readAbuseLimits(configuration)
        try readSessionSettings(configuration)
        try readLoginSettings(configuration)
        webhookHMACKey = configuration.setting("MOSTRADOR_WEBHOOK_HMAC_KEY")
        cloudVerifyToken = configuration.setting("MOSTRADOR_CLOUD_VERIFY_TOKEN")
        cloudAppSecret = configuration.setting("MOSTRADOR_CLOUD_APP_SECRET")
        gateways = try WhatsAppGateways(configuration)
        wahaHMACKey = configuration.setting("MOSTRADOR_WAHA_HMAC_KEY")
        evolutionWebhookToken = configuration.setting("MOSTRADOR_EVOLUTION_WEBHOOK_TOKEN")
        evolutionJWTKey = configuration.setting("MOSTRADOR_EVOLUTION_JWT_KEY")
        webhookMaximumSkew = try configuration.number(
            "MOSTRADOR_WEBHOOK_MAX_SKEW_SECONDS", default: 300, within: 1...86400)
        webhookNewTicketsPerSenderHour = try configuration.setting(
            "MOSTRADOR_WEBHOOK_NEW_TICKETS_PER_SENDER_HOUR", default: 5)
        guard webhookNewTicketsPerSenderHour >= 0 else {
            throw ValidationError("MOSTRADOR_WEBHOOK_NEW_TICKETS_PER_SENDER_HOUR must be >= 0")
        }
        retentionDays = try configuration.setting("MOSTRADOR_RETENTION_DAYS", default: 90)
        guard retentionDays >= 0 else { throw ValidationError("MOSTRADOR_RETENTION_DAYS must be >= 0") }
        databaseURL = configuration.setting("MOSTRADOR_DATABASE_URL").flatMap { $0.isEmpty ? nil : $0 }
        if let databaseURL, !databaseURL.hasPrefix("postgres://"), !databaseURL.hasPrefix("postgresql://") {
            throw ValidationError("MOSTRADOR_DATABASE_URL must be a postgres:// URL")
        }
        switch configuration.setting("MOSTRADOR_DB_DURABILITY")?.lowercased() ?? "full" {
        case "full": durability = .full
        case "normal": durability = .normal
        case let other: throw ValidationError("MOSTRADOR_DB_DURABILITY must be full or normal, not '\(other)'")
        }
        slaCheckInterval = try configuration.seconds("MOSTRADOR_SLA_CHECK_SECONDS", default: 30, within: 1...3600)
        outboundWebhookAttempts = try configuration.setting("MOSTRADOR_OUTBOUND_WEBHOOK_ATTEMPTS", default: 30)
        guard (1...1000).contains(outboundWebhookAttempts) else {
            throw ValidationError("MOSTRADOR_OUTBOUND_WEBHOOK_ATTEMPTS must be within 1...1000")
        }
        outboundWebhookTimeout = try configuration.seconds(
            "MOSTRADOR_OUTBOUND_WEBHOOK_TIMEOUT_SECONDS", default: 10, within: 0.1...120)
        switch configuration.setting("MOSTRADOR_OUTBOUND_WEBHOOKS_ALLOW_PRIVATE")?.lowercased() ?? "false" {
        case "true", "1", "yes", "on": outboundWebhooksAllowPrivate = true
        case "false", "0", "no", "off": outboundWebhooksAllowPrivate = false
        case let other:
            throw ValidationError("MOSTRADOR_OUTBOUND_WEBHOOKS_ALLOW_PRIVATE must be true or false, not '\(other)'")
        }
        switch configuration.setting("MOSTRADOR_INTAKE")?.lowercased() ?? "on" {
        case "on", "true", "1", "yes": intake = true
        case "off", "false", "0", "no": intake = false
        case let other: throw ValidationError("MOSTRADOR_INTAKE must be on or off, not '\(other)'")
        }
    }
}
