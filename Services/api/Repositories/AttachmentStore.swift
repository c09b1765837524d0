import Crypto
import Foundation
import MostradorSQL

/// An attachment whose bytes are on disk, ready to be linked to a message.
struct StoredAttachment: Sendable, Equatable {
    let sha256: String
    let mime: String
    let size: Int
    let filename: String?

    var messageType: String { mime.hasPrefix("image/") ? "image" : "file" }
}

/// Photo evidence and files: bytes stored once per content under `attachments/ab/cd/<sha256>`, rows in
/// `attachments`. The type is decided by the bytes, never by what the sender claims.
struct AttachmentStore: Sendable {
    static let maximumSize = 16 << 20
    let root: String
    let reader: SQLDatabase
    /// Refuses new files when the disk runs low (507).
    let disk: FreeDiskGuard

    init(root: String, reader: SQLDatabase, disk: FreeDiskGuard? = nil) {
        self.root = root
        self.reader = reader
        self.disk = disk ?? FreeDiskGuard(paths: [root], minimumFreeBytes: 0)
    }

    enum Problem: Error, Equatable {
        case tooLarge(Int)
        case unsupportedType
        case empty
        /// Below the free-space watermark, or the disk filled while writing.
        case insufficientStorage(freeBytes: Int64)
    }

    /// Checks and writes `bytes`; nothing is written when they are refused, and a write that fails (the disk
    /// filled up) leaves no temporary file behind. `mime`, when given, was already decided from the bytes.
    /// When this returns, the file and its folder entry are on disk (fsynced), so the row that points at it can
    /// commit; a stored file that is damaged (empty, truncated, other bytes) is written again.
    func store(_ bytes: [UInt8], filename: String?, mime known: String? = nil) throws -> StoredAttachment {
        guard !bytes.isEmpty else { throw Problem.empty }
        guard bytes.count <= Self.maximumSize else { throw Problem.tooLarge(bytes.count) }
        guard let mime = known ?? MediaType.sniff(bytes) else { throw Problem.unsupportedType }
        try checkFreeSpace()
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let url = path(for: digest)
        if !Self.holds(bytes, at: url.path) {
            do {
                try writeDurably(bytes, to: url, digest: digest)
            } catch {
                disk.invalidate()
                if Self.isOutOfSpace(error) { throw Problem.insufficientStorage(freeBytes: disk.freeBytes() ?? 0) }
                throw error
            }
        }
        let cleanName = filename.map { String($0.split(separator: "/").last ?? "").prefix(120) }.map(String.init)
        return StoredAttachment(sha256: digest, mime: mime, size: bytes.count, filename: cleanName)
    }

    /// Whether `path` is a regular file holding exactly `bytes`.
    private static func holds(_ bytes: [UInt8], at path: String) -> Bool {
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG, Int(status.st_size) == bytes.count,
            let stored = FileManager.default.contents(atPath: path)
        else { return false }
        return stored.elementsEqual(bytes)
    }

    /// Writes aside (`.<digest>.<uuid>`, locked while it is written), fsyncs, renames over `url` (a reader never
    /// sees half a file) and fsyncs the folder, and the folders above it when they were just created.
    private func writeDurably(_ bytes: [UInt8], to url: URL, digest: String) throws {
        let folder = url.deletingLastPathComponent()
        let created = try Self.createFolders(folder, under: URL(fileURLWithPath: root))
        let temporary = folder.appendingPathComponent(".\(digest).\(UUID().uuidString)")
        do {
            try Self.writeFile(bytes, to: temporary.path, renamingTo: url.path)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        try Self.syncFolder(folder.path)
        for parent in created.reversed() { try Self.syncFolder(parent.deletingLastPathComponent().path) }
    }

    /// Creates `folder` and the missing folders between it and `root`; returns those it created, outermost first.
    private static func createFolders(_ folder: URL, under root: URL) throws -> [URL] {
        var missing: [URL] = []
        var current = folder
        while !FileManager.default.fileExists(atPath: current.path), current.path.count > root.path.count {
            missing.append(current)
            current = current.deletingLastPathComponent()
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return missing.reversed()
    }

    private static func syncFolder(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw posixError() }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw posixError() }
    }

    private static func posixError() -> POSIXError { POSIXError(.init(rawValue: errno) ?? .EIO) }

    /// Removes the temporary files a crash left behind (`.<digest>.<uuid>`): those no process holds locked, so a
    /// write in progress in another instance sharing the folder is left alone. Returns how many it removed.
    @discardableResult
    func removeAbandonedTemporaryFiles() -> Int {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return 0 }
        var removed = 0
        while let relative = enumerator.nextObject() as? String {
            let components = relative.split(separator: "/")
            guard components.count == 3, components[2].hasPrefix(".") else { continue }
            let path = root + "/" + relative
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }

    /// Throws `insufficientStorage` below the free-space watermark (a reading at most a second old).
    func checkFreeSpace() throws {
        do {
            try disk.check()
        } catch let low as FreeDiskGuard.Insufficient {
            throw Problem.insufficientStorage(freeBytes: low.freeBytes)
        }
    }

    /// Writes a new file at `path` from the caller's buffer (no copy), fsyncs it and renames it to `destination`,
    /// reporting the `errno` of what failed. The file is locked until renamed: a cleanup at start leaves it alone.
    private static func writeFile(_ bytes: [UInt8], to path: String, renamingTo destination: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw posixError() }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw posixError() }
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw posixError()
                }
                offset += written
            }
        }
        guard fsync(descriptor) == 0 else { throw posixError() }
        guard rename(path, destination) == 0 else { throw posixError() }
    }

    static func isOutOfSpace(_ error: any Error) -> Bool {
        if let posix = error as? POSIXError { return posix.code == .ENOSPC || posix.code == .EDQUOT }
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return [Int(ENOSPC), Int(EDQUOT)].contains(error.code) }
        if error.domain == NSCocoaErrorDomain, error.code == NSFileWriteOutOfSpaceError { return true }
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? any Error { return isOutOfSpace(underlying) }
        return false
    }

    /// Removes the file of `attachment` when no attachment row points to it (a file refused after it was written).
    func discard(_ attachment: StoredAttachment) async throws {
        let used = try await reader.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = ?)", arguments: [attachment.sha256])
        }
        if used != true { try? FileManager.default.removeItem(at: path(for: attachment.sha256)) }
    }

    /// How many files and bytes `ticketID` already holds.
    static func usage(ticketID: Int64, db: Database) throws -> (files: Int, bytes: Int) {
        let row = try MostradorSQL.Row.fetchOne(
            db, sql: "SELECT COUNT(*) AS files, COALESCE(SUM(size), 0) AS bytes FROM attachments WHERE ticket_id = ?",
            arguments: [ticketID])
        return (row?["files"] ?? 0, row?["bytes"] ?? 0)
    }

    func usage(ticketID: Int64) async throws -> (files: Int, bytes: Int) {
        try await reader.read { db in try Self.usage(ticketID: ticketID, db: db) }
    }

    func path(for digest: String) -> URL {
        URL(fileURLWithPath: root).appendingPathComponent(String(digest.prefix(2)))
            .appendingPathComponent(String(digest.dropFirst(2).prefix(2))).appendingPathComponent(digest)
    }

    static func link(
        _ attachment: StoredAttachment, ticketID: Int64, messageID: Int64, caption: String?,
        db: Database
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO attachments (ticket_id, message_id, sha256, mime, size, filename, caption, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                ticketID, messageID, attachment.sha256, attachment.mime, attachment.size, attachment.filename,
                caption?.isEmpty == false ? caption : nil, Date(),
            ])
    }

    struct Row: Sendable {
        let id: Int64
        let ticketID: Int64
        let messageID: Int64?
        let sha256: String
        let mime: String
        let size: Int
        let filename: String?
        let caption: String?
        let createdAt: Date

        init(_ row: MostradorSQL.Row) {
            id = row["id"]
            ticketID = row["ticket_id"]
            messageID = row["message_id"]
            sha256 = row["sha256"]
            mime = row["mime"]
            size = row["size"]
            filename = row["filename"]
            caption = row["caption"]
            createdAt = row["created_at"]
        }
    }

    func list(ticketID: Int64) async throws -> [Row] {
        try await reader.read { db in
            try MostradorSQL.Row.fetchAll(
                db, sql: "SELECT * FROM attachments WHERE ticket_id = ? ORDER BY id", arguments: [ticketID]
            )
            .map(Row.init)
        }
    }

    func find(_ id: Int64) async throws -> Row? {
        try await reader.read { db in
            try MostradorSQL.Row.fetchOne(db, sql: "SELECT * FROM attachments WHERE id = ?", arguments: [id]).map(
                Row.init)
        }
    }
}

/// What a file is, from its first bytes.
enum MediaType {
    static let allowed = ["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"]

    static func sniff(_ bytes: [UInt8]) -> String? {
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<offset + prefix.count]) == prefix
        }
        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if starts(Array("RIFF".utf8)), starts(Array("WEBP".utf8), at: 8) { return "image/webp" }
        if starts(Array("ftyp".utf8), at: 4), bytes.count >= 12 {
            let brand = String(decoding: bytes[8..<12], as: UTF8.self)
            if ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"].contains(brand) { return "image/heic" }
        }
        if starts(Array("%PDF-".utf8)) { return "application/pdf" }
        return nil
    }

    /// Photos and PDFs, plus Word documents (`.doc` is an OLE file, `.docx` a ZIP with a `word/` folder).
    static func sniffDocument(_ bytes: [UInt8]) -> String? {
        if let media = sniff(bytes) { return media }
        if bytes.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return "application/msword" }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]),
            String(decoding: bytes.prefix(4096), as: UTF8.self).contains("word/")
        {
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        }
        return nil
    }
}
