import Contracts
import Crypto
import CrmRedis
import Foundation
import Testing

/// SEC-CRM-0461, REL-CRM-0403: every kind of tampering with the audit trail is caught where it is.
@Suite("Audit chain verification")
struct AuditVerifierTests {
    let key = Curve25519.Signing.PrivateKey()

    /// A chain of `count` entries, built as audit-service builds it.
    func chain(_ count: Int, from start: Int = 1, previous: String = AuditChain.genesis) -> [AuditRecord] {
        var prev = previous
        return (start..<(start + count)).map { seq in
            let bytes = Envelope(id: "e-\(seq)", type: "lead.created", kind: .event, tenant: "acme", actor: "u-1", payload: ["leadId": .string("L-\(seq)")]).encoded()
            let hash = AuditChain.hash(previous: prev, envelope: bytes)
            defer { prev = hash }
            return AuditRecord(entryID: "1-\(seq)", seq: seq, hash: hash, prev: prev, bytes: bytes)
        }
    }

    func checkpoints(_ records: [AuditRecord], every: Int, key: Curve25519.Signing.PrivateKey) throws -> [AuditCheckpoint] {
        try records.filter { $0.seq % every == 0 }.map { try AuditCheckpoint.sign(shard: 0, seq: $0.seq, hash: $0.hash, key: key) }
    }

    func verify(_ records: [AuditRecord], checkpoints: [AuditCheckpoint] = [], from: Int = 1) -> ChainReport {
        AuditVerifier.verify(shard: 0, records: records, fromSeq: from, checkpoints: checkpoints, publicKey: key.publicKey)
    }

    @Test("an intact chain passes, with its checkpoints verified")
    func intact() throws {
        let records = chain(20)
        let report = verify(records, checkpoints: try checkpoints(records, every: 5, key: key))
        #expect(report.firstBreak == nil)
        #expect(report.checked == 20)
        #expect(report.checkpointsVerified == 4)
    }

    @Test("an edited entry is caught at its position")
    func edited() {
        var records = chain(10)
        let victim = records[4]
        records[4] = AuditRecord(entryID: victim.entryID, seq: victim.seq, hash: victim.hash, prev: victim.prev,
                                 bytes: Array(String(decoding: victim.bytes, as: UTF8.self).replacingOccurrences(of: "L-5", with: "L-6").utf8))
        let problem = verify(records).firstBreak
        #expect(problem?.kind == .edited)
        #expect(problem?.position == 5)
    }

    @Test("a deleted entry is caught where the sequence jumps")
    func deleted() {
        var records = chain(10)
        records.remove(at: 4)
        let problem = verify(records).firstBreak
        #expect(problem?.kind == .missing)
        #expect(problem?.position == 5)
        #expect(problem?.seq == 6)
    }

    @Test("two swapped entries are caught at the first of them")
    func swapped() {
        var records = chain(10)
        records.swapAt(4, 5)
        let problem = verify(records).firstBreak
        #expect(problem?.kind == .missing)
        #expect(problem?.position == 5, "seq 6 stands where seq 5 should")
    }

    @Test("an inserted entry is caught: with a forged link the sequence breaks right after it")
    func inserted() {
        var records = chain(10)
        let bytes = Envelope(id: "forged", type: "lead.created", kind: .event, tenant: "acme", actor: "u-9", payload: ["leadId": "L-X"]).encoded()
        let forged = AuditRecord(entryID: "1-5a", seq: 6, hash: AuditChain.hash(previous: records[4].hash, envelope: bytes), prev: records[4].hash, bytes: bytes)
        records.insert(forged, at: 5)
        let problem = verify(records).firstBreak
        #expect(problem?.kind == .outOfOrder)
        #expect(problem?.position == 7, "the real seq 6 follows the forged one")
        var naive = chain(10)
        naive.insert(AuditRecord(entryID: "1-5b", seq: 11, hash: "x", prev: "y", bytes: bytes), at: 5)
        #expect(verify(naive).firstBreak?.position == 6)
    }

    @Test("a truncated tail is caught by a signed checkpoint")
    func truncated() throws {
        let records = chain(20)
        let signed = try checkpoints(records, every: 5, key: key)
        let problem = verify(Array(records.prefix(17)), checkpoints: signed).firstBreak
        #expect(problem?.kind == .truncated)
        #expect(problem?.seq == 20)
    }

    @Test("a chain rewritten from one entry on, without the signing key, is caught")
    func rewrittenWithoutKey() throws {
        let original = chain(20)
        let signed = try checkpoints(original, every: 5, key: key)
        // The forger changes entry 3 and recomputes every hash after it: the chain itself is consistent.
        var forged = original
        let changed = Envelope(id: "e-3", type: "lead.created", kind: .event, tenant: "acme", actor: "u-1", payload: ["leadId": "L-forged"]).encoded()
        var prev = original[1].hash
        for index in 2..<forged.count {
            let bytes = index == 2 ? changed : forged[index].bytes
            let hash = AuditChain.hash(previous: prev, envelope: bytes)
            forged[index] = AuditRecord(entryID: forged[index].entryID, seq: forged[index].seq, hash: hash, prev: prev, bytes: bytes)
            prev = hash
        }
        #expect(verify(forged).firstBreak == nil, "without checkpoints a full rewrite is consistent")
        let problem = verify(forged, checkpoints: signed).firstBreak
        #expect(problem?.kind == .rewritten)
        #expect(problem?.seq == 5)
        // Re-signing with another key does not help the forger.
        let forgerKey = Curve25519.Signing.PrivateKey()
        let reSigned = try checkpoints(forged, every: 5, key: forgerKey)
        #expect(verify(forged, checkpoints: reSigned).firstBreak?.kind == .badSignature)
    }

    @Test("verification can start at a sequence number, trusting the link into it")
    func fromSeq() {
        let records = chain(10)
        let report = verify(Array(records.dropFirst(4)), from: 5)
        #expect(report.firstBreak == nil)
        #expect(report.checked == 6)
        #expect(verify(Array(records.dropFirst(4))).firstBreak?.kind == .missing, "from 1 the first four are missing")
    }
}
