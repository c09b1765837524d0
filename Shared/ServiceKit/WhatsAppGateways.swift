import ArgumentParser
import Foundation

/// Where the WhatsApp gateways Mostrador talks to live and how to authenticate, read the same way by the api
/// (media downloads, `@lid` lookups) and the relay (sending). Each is off unless its URL (or number id) is set.
public struct WhatsAppGateways: Sendable, Equatable {
    /// Meta's Graph API (`MOSTRADOR_CLOUD_API_URL`, `MOSTRADOR_CLOUD_PHONE_NUMBER_ID`, `MOSTRADOR_CLOUD_TOKEN`).
    public struct Cloud: Sendable, Equatable {
        public var apiURL = "https://graph.facebook.com/v23.0"
        /// Needed to send; the api downloads media with the token alone.
        public var phoneNumberID: String?
        public var token: String

        public init(apiURL: String = "https://graph.facebook.com/v23.0", phoneNumberID: String? = nil, token: String) {
            self.apiURL = apiURL
            self.phoneNumberID = phoneNumberID
            self.token = token
        }
    }

    /// A self-hosted gateway: its base URL, its API key and which session (WAHA) or instance (Evolution) is ours.
    public struct Gateway: Sendable, Equatable {
        public var url: String
        public var apiKey: String
        public var session: String

        public init(url: String, apiKey: String, session: String) {
            self.url = url
            self.apiKey = apiKey
            self.session = session
        }
    }

    public var cloud: Cloud?
    /// WAHA (`MOSTRADOR_WAHA_URL`, `MOSTRADOR_WAHA_API_KEY`, `MOSTRADOR_WAHA_SESSION`, default `default`).
    public var waha: Gateway?
    /// Evolution API v2 (`MOSTRADOR_EVOLUTION_URL`, `MOSTRADOR_EVOLUTION_API_KEY`, `MOSTRADOR_EVOLUTION_INSTANCE`).
    public var evolution: Gateway?

    public init() {}

    public init(_ configuration: ServiceConfiguration) throws {
        if let token = configuration.setting("MOSTRADOR_CLOUD_TOKEN") {
            var cloud = Cloud(token: token)
            cloud.apiURL = try Self.url(configuration, "MOSTRADOR_CLOUD_API_URL") ?? cloud.apiURL
            cloud.phoneNumberID = configuration.setting("MOSTRADOR_CLOUD_PHONE_NUMBER_ID")
            if let id = cloud.phoneNumberID, !id.allSatisfy({ $0.isASCII && $0.isNumber }) {
                throw ValidationError("MOSTRADOR_CLOUD_PHONE_NUMBER_ID must be the number's id (digits) from Meta")
            }
            self.cloud = cloud
        } else if configuration.setting("MOSTRADOR_CLOUD_PHONE_NUMBER_ID") != nil {
            throw ValidationError("MOSTRADOR_CLOUD_TOKEN is required with MOSTRADOR_CLOUD_PHONE_NUMBER_ID")
        }
        if let url = try Self.url(configuration, "MOSTRADOR_WAHA_URL") {
            let session = configuration.setting("MOSTRADOR_WAHA_SESSION") ?? "default"
            try Self.checkName(session, "MOSTRADOR_WAHA_SESSION")
            waha = Gateway(url: url, apiKey: configuration.setting("MOSTRADOR_WAHA_API_KEY") ?? "", session: session)
        }
        if let url = try Self.url(configuration, "MOSTRADOR_EVOLUTION_URL") {
            guard let instance = configuration.setting("MOSTRADOR_EVOLUTION_INSTANCE") else {
                throw ValidationError("MOSTRADOR_EVOLUTION_INSTANCE is required with MOSTRADOR_EVOLUTION_URL")
            }
            try Self.checkName(instance, "MOSTRADOR_EVOLUTION_INSTANCE")
            guard let key = configuration.setting("MOSTRADOR_EVOLUTION_API_KEY") else {
                throw ValidationError("MOSTRADOR_EVOLUTION_API_KEY is required with MOSTRADOR_EVOLUTION_URL")
            }
            evolution = Gateway(url: url, apiKey: key, session: instance)
        }
    }

    /// An http(s) URL without trailing slashes, or nil when unset.
    static func url(_ configuration: ServiceConfiguration, _ name: String) throws -> String? {
        guard var text = configuration.setting(name) else { return nil }
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme), url.host != nil else {
            throw ValidationError("\(name) must be an http(s) URL, not '\(text)'")
        }
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// A session or instance name goes into URL paths: letters, digits, `-`, `_` and `.` only.
    static func checkName(_ name: String, _ variable: String) throws {
        guard (1...64).contains(name.utf8.count), name.contains(where: { $0 != "." }),
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else { throw ValidationError("\(variable) must be 1–64 letters, digits, '-', '_' or '.', not '\(name)'") }
    }
}
