public import Contracts
public import Crypto
public import Foundation
public import RedisClient

/// A signed statement of a shard's chain head: "at `seq` the hash was `hash`". Anyone with the
/// deployment's public key can check it, so truncating the trail, or rewriting all of it (which
/// needs the signing key to re-sign), is detected.
public struct AuditCheckpoint: Sendable, Equatable {
    public let shard: Int
    public let seq: Int
    public let hash: String
    public let signature: Data
    public let publicKey: Data

    /// The exact bytes signed.
    public static func message(shard: Int, seq: Int, hash: String) -> Data {
        Data("nexus-crm audit checkpoint v1\nshard=\(shard)\nseq=\(seq)\nhash=\(hash)".utf8)
    }

    public static func sign(shard: Int, seq: Int, hash: String, key: Curve25519.Signing.PrivateKey) throws -> AuditCheckpoint {
        let signature = try key.signature(for: message(shard: shard, seq: seq, hash: hash))
        return AuditCheckpoint(shard: shard, seq: seq, hash: hash, signature: signature, publicKey: key.publicKey.rawRepresentation)
    }

    public func isValid(for key: Curve25519.Signing.PublicKey) -> Bool {
        key.isValidSignature(signature, for: Self.message(shard: shard, seq: seq, hash: hash))
    }

    /// Stream entry fields of `crm:{sN}:audit:checkpoints`.
    public var fields: [(String, [UInt8])] {
        [("seq", Array(String(seq).utf8)), ("hash", Array(hash.utf8)), ("signature", Array(signature.base64EncodedString().utf8)),
         ("key", Array(publicKey.base64EncodedString().utf8)), ("at", Array(Envelope.timestamp().utf8))]
    }

    public init(shard: Int, seq: Int, hash: String, signature: Data, publicKey: Data) {
        self.shard = shard
        self.seq = seq
        self.hash = hash
        self.signature = signature
        self.publicKey = publicKey
    }

    init?(shard: Int, entry: StreamEntry) {
        guard let seq = entry.string("seq").flatMap(Int.init), let hash = entry.string("hash"),
              let signature = entry.string("signature").flatMap({ Data(base64Encoded: $0) }),
              let key = entry.string("key").flatMap({ Data(base64Encoded: $0) }) else { return nil }
        self.init(shard: shard, seq: seq, hash: hash, signature: signature, publicKey: key)
    }
}

/// The first place where a shard's audit trail stops being the chain it should be.
public struct ChainBreak: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// An entry's content no longer matches its hash.
        case edited
        /// Sequence numbers jump: entries were deleted.
        case missing
        /// A sequence number repeats or goes back: entries were inserted or reordered.
        case outOfOrder = "out_of_order"
        /// An entry's `prev` is not the previous entry's hash: inserted, swapped or rewritten.
        case brokenLink = "broken_link"
        /// A signed checkpoint names an entry the trail no longer has: its tail was cut.
        case truncated
        /// A signed checkpoint's hash differs from the trail's at that position: rewritten.
        case rewritten
        /// A checkpoint's signature does not verify with the deployment's public key.
        case badSignature = "bad_signature"
    }

    public let kind: Kind
    /// 1-based position in the trail as read (archive first, then the stream).
    public let position: Int
    public let seq: Int
    public let entryID: String
    public let detail: String

    public var description: String { "\(kind.rawValue) at position \(position) (seq \(seq), entry \(entryID)): \(detail)" }
}

public struct ChainReport: Sendable {
    public let shard: Int
    public let checked: Int
    public let checkpointsVerified: Int
    public let firstBreak: ChainBreak?
}

/// Recomputes a shard's chain and checks its signed checkpoints.
public enum AuditVerifier {
    /// - Parameters:
    ///   - records: the trail in order (archived entries first, then the stream's).
    ///   - fromSeq: start checking at this sequence number, trusting the link into it.
    ///   - checkpoints: the shard's checkpoints; verified with `publicKey` when one is given.
    public static func verify(shard: Int, records: [AuditRecord], fromSeq: Int = 1, checkpoints: [AuditCheckpoint] = [],
                              publicKey: Curve25519.Signing.PublicKey? = nil) -> ChainReport {
        var previous = AuditChain.genesis
        var expected = 1
        var checked = 0
        var started = fromSeq <= 1
        var hashes: [Int: String] = [:]
        hashes.reserveCapacity(records.count)
        func report(_ kind: ChainBreak.Kind, _ index: Int, _ detail: String) -> ChainReport {
            let record = records[index]
            return ChainReport(shard: shard, checked: checked, checkpointsVerified: 0,
                               firstBreak: ChainBreak(kind: kind, position: index + 1, seq: record.seq, entryID: record.entryID, detail: detail))
        }
        for (index, record) in records.enumerated() {
            if !started {
                guard record.seq >= fromSeq else { continue }
                started = true
                previous = record.prev
                expected = record.seq
            }
            if record.seq > expected { return report(.missing, index, "seq \(record.seq) follows seq \(expected - 1); \(record.seq - expected) entr\(record.seq - expected == 1 ? "y is" : "ies are") missing") }
            if record.seq < expected { return report(.outOfOrder, index, "seq \(record.seq) comes after seq \(expected - 1)") }
            if record.prev != previous { return report(.brokenLink, index, "prev does not match the previous entry's hash") }
            if AuditChain.hash(previous: record.prev, envelope: record.bytes) != record.hash {
                return report(.edited, index, "the content does not match the entry's hash")
            }
            hashes[record.seq] = record.hash
            previous = record.hash
            expected = record.seq + 1
            checked += 1
        }
        var verified = 0
        let last = records.last
        for checkpoint in checkpoints where checkpoint.seq >= fromSeq {
            let position = records.count
            func broken(_ kind: ChainBreak.Kind, _ detail: String) -> ChainReport {
                ChainReport(shard: shard, checked: checked, checkpointsVerified: verified,
                            firstBreak: ChainBreak(kind: kind, position: position, seq: checkpoint.seq, entryID: last?.entryID ?? "-", detail: detail))
            }
            if let publicKey {
                guard checkpoint.isValid(for: publicKey) else { return broken(.badSignature, "checkpoint at seq \(checkpoint.seq) is not signed by the deployment's key") }
            }
            guard let hash = hashes[checkpoint.seq] else {
                if checkpoint.seq > (last?.seq ?? 0) {
                    return broken(.truncated, "a checkpoint vouches for seq \(checkpoint.seq), but the trail ends at seq \(last?.seq ?? 0)")
                }
                continue
            }
            guard hash == checkpoint.hash else { return broken(.rewritten, "the signed hash at seq \(checkpoint.seq) differs from the trail's") }
            verified += publicKey == nil ? 0 : 1
        }
        return ChainReport(shard: shard, checked: checked, checkpointsVerified: verified, firstBreak: nil)
    }

    /// Reads a shard's stream and checkpoints from Redis (after any archived records) and verifies them.
    public static func verify(shard: ShardKeys, connection: RedisConnection, archived: [AuditRecord] = [], fromSeq: Int = 1,
                              publicKey: Curve25519.Signing.PublicKey? = nil) async throws -> ChainReport {
        var records = archived
        var start = archived.last.map { "(" + $0.entryID } ?? "-"
        while true {
            let entries = try await connection.xrange(shard.audit, start: start, count: 5000)
            records += entries.map(AuditRecord.init)
            guard entries.count == 5000, let last = entries.last else { break }
            start = "(" + last.id
        }
        let checkpoints = try await connection.xrange(shard.auditCheckpoints).compactMap { AuditCheckpoint(shard: shard.shard, entry: $0) }
        return verify(shard: shard.shard, records: records, fromSeq: fromSeq, checkpoints: checkpoints, publicKey: publicKey)
    }
}
