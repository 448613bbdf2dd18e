public import Contracts
public import Foundation

/// The audit trail's archive: append-only JSON Lines segments, one per shard per day
/// (`<dir>/shard-<N>/<YYYY-MM-DD>.jsonl`), each line one audit entry with its envelope kept as the
/// exact string that was hashed. Entries are archived (and fsynced) before the stream is trimmed.
public struct AuditArchive: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    func shardDirectory(_ shard: Int) -> URL { directory.appendingPathComponent("shard-\(shard)") }

    /// The day (UTC) of an entry, from the milliseconds of its stream id.
    static func day(of entryID: String) -> String {
        let millis = Double(entryID.split(separator: "-").first.flatMap { Int64($0) } ?? 0)
        let date = Date(timeIntervalSince1970: millis / 1000)
        return date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
    }

    /// Segment files of a shard, oldest first.
    func segments(shard: Int) throws -> [URL] {
        let folder = shardDirectory(shard)
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "jsonl" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Every archived entry of a shard, in order.
    public func records(shard: Int) throws -> [AuditRecord] {
        try segments(shard: shard).flatMap { file in
            let text = try String(contentsOf: file, encoding: .utf8)
            return try text.split(separator: "\n").map { try Self.record(fromLine: Array($0.utf8)) }
        }
    }

    /// The id of the newest archived entry of a shard (the last line of its newest segment).
    public func lastEntryID(shard: Int) throws -> String? {
        guard let newest = try segments(shard: shard).last else { return nil }
        let text = try String(contentsOf: newest, encoding: .utf8)
        guard let line = text.split(separator: "\n").last else { return nil }
        return try Self.record(fromLine: Array(line.utf8)).entryID
    }

    /// Appends records (oldest first) to their day's segments and fsyncs each segment written.
    public func append(_ records: [AuditRecord], shard: Int) throws {
        let folder = shardDirectory(shard)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let byDay = Dictionary(grouping: records, by: { Self.day(of: $0.entryID) })
        for day in byDay.keys.sorted() {
            let file = folder.appendingPathComponent("\(day).jsonl")
            if !FileManager.default.fileExists(atPath: file.path) { FileManager.default.createFile(atPath: file.path, contents: nil) }
            let handle = try FileHandle(forWritingTo: file)
            defer { try? handle.close() }
            try handle.seekToEnd()
            var data = Data()
            for record in byDay[day]! { data.append(contentsOf: Self.line(record)) }
            try handle.write(contentsOf: data)
            try handle.synchronize()
        }
    }

    static func line(_ record: AuditRecord) -> [UInt8] {
        let object: JSONValue = [
            "entryId": .string(record.entryID), "seq": .integer(Int64(record.seq)), "hash": .string(record.hash),
            "prev": .string(record.prev), "tenant": .string(record.tenant), "type": .string(record.type),
            "actor": .string(record.actor), "record": .string(record.record),
            "envelope": .string(String(decoding: record.bytes, as: UTF8.self)),
        ]
        return object.compactJSON + [0x0A]
    }

    static func record(fromLine line: [UInt8]) throws -> AuditRecord {
        let value = try JSONValue.parse(line)
        guard let id = value["entryId"]?.stringValue, case .integer(let seq)? = value["seq"], let envelope = value["envelope"]?.stringValue else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "an archive line lacks entryId, seq or envelope"))
        }
        return AuditRecord(entryID: id, seq: Int(seq), hash: value["hash"]?.stringValue ?? "", prev: value["prev"]?.stringValue ?? "",
                           bytes: Array(envelope.utf8), tenant: value["tenant"]?.stringValue ?? "", type: value["type"]?.stringValue ?? "",
                           actor: value["actor"]?.stringValue ?? "", record: value["record"]?.stringValue ?? "")
    }
}
