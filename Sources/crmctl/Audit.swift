import ArgumentParser
import Contracts
import Crypto
import CrmRedis
import Foundation
import RedisClient

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read and check the audit trail.", subcommands: [Tail.self, Verify.self, Keygen.self])

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print audit entries, oldest first; --follow waits for new ones.")

        @OptionGroup var connection: ClientOptions

        @Flag(help: "Keep printing new entries until interrupted.")
        var follow = false

        @Option(help: "Only this tenant's entries (reads only its shard).")
        var tenant: String?

        @Option(help: "Start after this audit entry id, or at this time (RFC 3339, e.g. 2026-11-24T21:00:00Z).")
        var since: String?

        @Option(help: "Without --since: start with the newest this many entries of each shard read (with --tenant, those of the tenant among them).")
        var count: Int = 100

        @Flag(help: "One JSON object per line (entryId, seq, hash, prev, tenant, type, actor, record, envelope).")
        var json = false

        func run() async throws {
            let redis = try connection.connection()
            let start = try since.map(Self.streamID)
            var cursors: [(String, String)] = []
            for shard in connection.shards(tenant: tenant) {
                var last = start ?? "0-0"
                if let start {
                    var from = "(" + start
                    while true {
                        let entries = try await redis.xrange(shard.audit, start: from, count: 1000)
                        entries.forEach { emit(AuditRecord($0), shard: shard.shard) }
                        guard let tail = entries.last else { break }
                        last = tail.id
                        from = "(" + tail.id
                    }
                } else {
                    let entries = try await redis.xrevrange(shard.audit, count: max(count, 1)).reversed()
                    entries.forEach { emit(AuditRecord($0), shard: shard.shard) }
                    last = entries.last?.id ?? "0-0"
                }
                cursors.append((shard.audit, last))
            }
            guard follow else { return }
            let shardOf = Dictionary(uniqueKeysWithValues: connection.shards(tenant: tenant).map { ($0.audit, $0.shard) })
            while !Task.isCancelled {
                for (stream, entries) in try await redis.xread(streams: cursors, count: 100, block: .seconds(5)) {
                    entries.forEach { emit(AuditRecord($0), shard: shardOf[stream] ?? -1) }
                    if let last = entries.last, let index = cursors.firstIndex(where: { $0.0 == stream }) { cursors[index].1 = last.id }
                }
            }
        }

        private func emit(_ record: AuditRecord, shard: Int) {
            if let tenant, record.tenant != tenant { return }
            if json {
                guard case .object(var fields) = record.json else { return }
                fields["shard"] = .integer(Int64(shard))
                printJSON(.object(fields))
                return
            }
            let envelope = try? JSONValue.parse(record.bytes)
            let when = envelope?["occurredAt"]?.stringValue ?? "-"
            let line = "s\(shard) #\(record.seq)  \(when)  \(record.tenant)  \(record.actor)  \(record.type)  \(record.record.isEmpty ? "-" : record.record)\n"
            writeOut(Data(line.utf8))
        }

        /// An audit entry id as given, or the first id at an RFC 3339 time.
        static func streamID(_ text: String) throws -> String {
            if text.contains("T"), let date = Timestamp.parse(text) {
                return "\(Int64(date.timeIntervalSince1970 * 1000) - 1)-\(UInt64.max)"
            }
            let parts = text.split(separator: "-")
            guard parts.count <= 2, parts.allSatisfy({ UInt64($0) != nil }) else {
                throw ValidationError("--since takes an audit entry id (1795559505129-0) or an RFC 3339 time (2026-11-24T21:00:00Z)")
            }
            return parts.count == 2 ? text : "\(text)-\(UInt64.max)"
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recompute the hash chain and check the signed checkpoints; report each shard's first broken link.",
            discussion: "Exit status 0 only when every shard checked is intact.")

        @OptionGroup var connection: ClientOptions

        @Option(help: "Only this shard.")
        var shard: Int?

        @Option(help: "Start at this sequence number, trusting the link into it.")
        var from: Int = 1

        @Option(help: "audit-service's archive folder (CRM_AUDIT_ARCHIVE_DIR): verify the archived entries, then the stream after them.")
        var archive: String?

        @Option(help: "The deployment's audit public key, base64 (env CRM_AUDIT_PUBLIC_KEY); checkpoints are only compared, not authenticated, without it.")
        var publicKey: String?

        func run() async throws {
            let redis = try connection.connection()
            var key: Curve25519.Signing.PublicKey?
            if let publicKey = publicKey ?? ProcessInfo.processInfo.environment["CRM_AUDIT_PUBLIC_KEY"] {
                guard let raw = Data(base64Encoded: publicKey), let parsed = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                    throw ValidationError("--public-key (CRM_AUDIT_PUBLIC_KEY) is not a base64 Ed25519 public key")
                }
                key = parsed
            }
            let shards = try shard.map { number in
                guard number >= 0, number < connection.shards else { throw ValidationError("--shard must be 0…\(connection.shards - 1)") }
                return [ShardKeys(shard: number)]
            } ?? connection.router.allShards
            var broken = 0
            for shard in shards {
                let archived = try archive.map { try AuditArchive(directory: URL(fileURLWithPath: $0)).records(shard: shard.shard) } ?? []
                let report = try await AuditVerifier.verify(shard: shard, connection: redis, archived: archived, fromSeq: from, publicKey: key)
                let signed = key == nil ? "" : ", \(report.checkpointsVerified) signed checkpoint(s) verified"
                if let problem = report.firstBreak {
                    broken += 1
                    print("shard \(shard.shard): BROKEN after \(report.checked) good entries: \(problem)")
                } else {
                    print("shard \(shard.shard): \(report.checked) entries, chain intact\(signed)")
                }
            }
            if broken > 0 { throw ExitCode(1) }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make an Ed25519 key pair for audit checkpoints: give audit-service the private key (CRM_AUDIT_SIGNING_KEY), verifiers the public one.")

        func run() async throws {
            let key = Curve25519.Signing.PrivateKey()
            print("CRM_AUDIT_SIGNING_KEY=\(key.rawRepresentation.base64EncodedString())")
            print("CRM_AUDIT_PUBLIC_KEY=\(key.publicKey.rawRepresentation.base64EncodedString())")
        }
    }
}

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a record's audit entries, oldest first (its tenant's only).")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The record's tenant.")
    var tenant: String

    @Argument(help: "The record's kind: lead, opportunity, contact, definition.")
    var entity: String

    @Argument(help: "The record's id.")
    var id: String

    @Option(help: "audit-service's archive folder (CRM_AUDIT_ARCHIVE_DIR), for entries already trimmed from the stream.")
    var archive: String?

    func run() async throws {
        guard Identifier.isTenant(tenant), Identifier.isName(entity), Identifier.isMessageID(id) else {
            throw ValidationError("tenant, entity or id has characters an id cannot have")
        }
        let records = try await AuditTrail.history(tenant: tenant, subject: AuditSubject(entity: entity, id: id),
                                                   router: connection.router, connection: try connection.connection(),
                                                   archive: archive.map { AuditArchive(directory: URL(fileURLWithPath: $0)) })
        records.forEach { printJSON($0.json) }
    }
}
