import Foundation
import Hummingbird

/// `{"success": true, "marked": n}` (seed 002): how many messages or notifications were marked read.
struct MarkedJSON: ResponseEncodable, Sendable {
    let success = true
    let marked: Int
}

/// `{"success": true}` (seed 002).
struct SuccessJSON: ResponseEncodable, Sendable {
    let success = true
}

/// `{"unread_count": n}` (seed 002).
struct UnreadCountJSON: ResponseEncodable, Sendable {
    let unreadCount: Int

    enum CodingKeys: String, CodingKey { case unreadCount = "unread_count" }
}
