import ArgumentParser
import MostradorServiceKit

extension APISettings {
    /// The quotas that keep one visitor from filling the disk, the database or an agent's notifications.
    mutating func readAbuseLimits(_ configuration: ServiceConfiguration) throws {
        // Megabytes are shifted into bytes: bounded so that the shift cannot overflow.
        func count(_ name: String, _ value: Int, minimum: Int = 1, maximum: Int = 1 << 40) throws -> Int {
            let parsed = try configuration.setting(name, default: value)
            guard parsed >= minimum, parsed <= maximum else {
                throw ValidationError("\(name) must be within \(minimum)…\(maximum)")
            }
            return parsed
        }
        guestMessagesPerMinute = try count("MOSTRADOR_GUEST_MESSAGES_PER_MINUTE", guestMessagesPerMinute)
        guestMessageBurst = try count("MOSTRADOR_GUEST_MESSAGE_BURST", guestMessageBurst)
        addressMessagesPerMinute = try count("MOSTRADOR_IP_MESSAGES_PER_MINUTE", addressMessagesPerMinute)
        uploadGrantsPerConnection = try count("MOSTRADOR_UPLOAD_GRANTS_PER_CONNECTION", uploadGrantsPerConnection)
        uploadGrantsTotal = try count("MOSTRADOR_UPLOAD_GRANTS_TOTAL", uploadGrantsTotal)
        concurrentUploads = try count("MOSTRADOR_CONCURRENT_UPLOADS", concurrentUploads)
        filesPerTicket = try count("MOSTRADOR_TICKET_MAX_FILES", filesPerTicket)
        bytesPerTicket = try count("MOSTRADOR_TICKET_MAX_MB", bytesPerTicket >> 20) << 20
        minimumFreeDiskBytes =
            Int64(try count("MOSTRADOR_MIN_FREE_DISK_MB", Int(minimumFreeDiskBytes >> 20), minimum: 0)) << 20
    }
}
