import Crypto
import Foundation
import Testing

@testable import MostradorAPI

/// Attachment files survive what the rows pointing at them survive (review R3): written aside, fsynced, renamed;
/// a damaged file is repaired by the next upload of the same content; a failed rename is an error.
@Suite struct AttachmentStoreTests {
    static let photo: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<4000).map { UInt8($0 % 251) }

    static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func contents(_ url: URL) -> [UInt8]? {
        FileManager.default.contents(atPath: url.path).map(Array.init)
    }

    @Test(arguments: ["empty", "truncated", "other bytes"])
    func aDamagedFileIsRewrittenWhenTheSameContentArrivesAgain(_ damage: String) async throws {
        try await APITestSystem.with { api in
            let store = api.components.attachments
            let first = try store.store(Self.photo, filename: "foto.png")
            let url = store.path(for: first.sha256)
            #expect(Self.contents(url) == Self.photo)
            switch damage {
            case "empty": try Data().write(to: url)
            case "truncated": try Data(Self.photo.prefix(100)).write(to: url)
            default: try Data(Self.photo.reversed()).write(to: url)
            }
            #expect(Self.contents(url) != Self.photo)

            let again = try store.store(Self.photo, filename: "foto.png")
            #expect(again.sha256 == first.sha256)
            let repaired = try #require(Self.contents(url))
            #expect(repaired == Self.photo)
            #expect(Self.digest(repaired) == first.sha256)
        }
    }

    @Test func anIntactFileIsNotWrittenAgain() async throws {
        try await APITestSystem.with { api in
            let store = api.components.attachments
            let url = store.path(for: try store.store(Self.photo, filename: nil).sha256)
            let inode = try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? Int
            _ = try store.store(Self.photo, filename: nil)
            #expect(try FileManager.default.attributesOfItem(atPath: url.path)[.systemFileNumber] as? Int == inode)
        }
    }

    /// Something that is not a file stands where the blob goes (a folder): the rename fails, and the upload must
    /// fail with it rather than link a row to bytes that are not there.
    @Test func aFailedRenameIsAnError() async throws {
        try await APITestSystem.with { api in
            let store = api.components.attachments
            let url = store.path(for: Self.digest(Self.photo))
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data("x".utf8).write(to: url.appendingPathComponent("occupied"))

            #expect(throws: (any Error).self) { try store.store(Self.photo, filename: "foto.png") }
            // No temporary file is left behind.
            let folder = try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path)
            #expect(folder == [url.lastPathComponent])
        }
    }

    /// Temporary files a crash left behind go at start; one being written (locked) by another instance stays.
    @Test func temporaryFilesLeftByACrashAreRemovedAtStart() async throws {
        try await APITestSystem.with { api in
            let store = api.components.attachments
            let digest = Self.digest(Self.photo)
            let folder = store.path(for: digest).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let abandoned = folder.appendingPathComponent(".\(digest).\(UUID().uuidString)")
            let inProgress = folder.appendingPathComponent(".\(digest).\(UUID().uuidString)")
            try Data(Self.photo.prefix(10)).write(to: abandoned)
            try Data(Self.photo.prefix(10)).write(to: inProgress)
            let writer = open(inProgress.path, O_RDONLY)
            #expect(writer >= 0)
            defer { close(writer) }
            #expect(flock(writer, LOCK_EX) == 0)

            #expect(store.removeAbandonedTemporaryFiles() == 1)
            #expect(!FileManager.default.fileExists(atPath: abandoned.path))
            #expect(FileManager.default.fileExists(atPath: inProgress.path))
        }
    }
}
