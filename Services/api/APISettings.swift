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
    /// An operator-edited message templates file (JSON) replacing the built-in one.
    var templatesFile: String?
    /// Whether the assistant runs the intake of new WhatsApp tickets (`MOSTRADOR_INTAKE=off` turns it off).
    var intake = true
    /// Guest chat: how long a started session waits for the profile, and how many chats one IP may start per window.
    var guestSessionLifetime: TimeInterval = 30 * 60
    var guestChatsPerIP = 5
    var guestChatWindow: TimeInterval = 3600
    /// reCAPTCHA on `complete_chat`: off unless a secret is set.
    var recaptchaSecret: String?
    var recaptchaVerifyURL = "https://www.google.com/recaptcha/api/siteverify"
    var recaptchaMinimumScore = 0.5
    /// The panel's static files (`MOSTRADOR_PUBLIC_DIR`, default: those bundled with the build).
    var publicDirectory: String?
    /// `full` (default): every commit survives power loss. `normal`: survives a crash of the process only.
    var durability = DatabaseFactory.Durability.full

    init() {}

    init(_ configuration: ServiceConfiguration) throws {
        webhookToken = configuration.setting("MOSTRADOR_WEBHOOK_TOKEN")
        let wait = try configuration.setting("MOSTRADOR_SEND_WAIT_SECONDS", default: 5.0)
        guard wait > 0, wait <= 60 else { throw ValidationError("MOSTRADOR_SEND_WAIT_SECONDS must be within (0, 60]") }
        sendWait = .milliseconds(Int64(wait * 1000))
        adminUser = configuration.setting("MOSTRADOR_ADMIN_USER")
        adminPassword = configuration.setting("MOSTRADOR_ADMIN_PASSWORD")
        if (adminUser == nil) != (adminPassword == nil) {
            throw ValidationError("MOSTRADOR_ADMIN_USER and MOSTRADOR_ADMIN_PASSWORD go together")
        }
        if let password = adminPassword, password.count < 8 {
            throw ValidationError("MOSTRADOR_ADMIN_PASSWORD must have at least 8 characters")
        }
        let hours = try configuration.setting("MOSTRADOR_SESSION_HOURS", default: 12.0)
        sessionLifetime = .seconds(Int64(hours * 3600))
        templatesFile = configuration.setting("MOSTRADOR_TEMPLATES_FILE")
        publicDirectory = configuration.setting("MOSTRADOR_PUBLIC_DIR")
        guestSessionLifetime = try configuration.setting("MOSTRADOR_GUEST_SESSION_MINUTES", default: 30.0) * 60
        guestChatsPerIP = try configuration.setting("MOSTRADOR_GUEST_CHATS_PER_IP", default: 5)
        guestChatWindow = try configuration.setting("MOSTRADOR_GUEST_CHAT_WINDOW_MINUTES", default: 60.0) * 60
        recaptchaSecret = configuration.setting("MOSTRADOR_RECAPTCHA_SECRET")
        recaptchaVerifyURL = configuration.setting("MOSTRADOR_RECAPTCHA_VERIFY_URL") ?? recaptchaVerifyURL
        recaptchaMinimumScore = try configuration.setting("MOSTRADOR_RECAPTCHA_MIN_SCORE", default: 0.5)
        switch configuration.setting("MOSTRADOR_DB_DURABILITY")?.lowercased() ?? "full" {
        case "full": durability = .full
        case "normal": durability = .normal
        case let other: throw ValidationError("MOSTRADOR_DB_DURABILITY must be full or normal, not '\(other)'")
        }
        switch configuration.setting("MOSTRADOR_INTAKE")?.lowercased() ?? "on" {
        case "on", "true", "1", "yes": intake = true
        case "off", "false", "0", "no": intake = false
        case let other: throw ValidationError("MOSTRADOR_INTAKE must be on or off, not '\(other)'")
        }
    }
}
