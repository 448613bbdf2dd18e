public import ArgumentParser
import Crypto
import Foundation
import ServiceKit

/// audit-service's own settings, beside the shared ones.
public struct AuditOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("signing-key"), help: "Ed25519 private key, base64, that signs checkpoints of each chain (env CRM_AUDIT_SIGNING_KEY; make one with `crmctl audit keygen`). Without it no checkpoints are written.")
    public var signingKey: String? = Environment.string("CRM_AUDIT_SIGNING_KEY")

    @Option(name: .customLong("checkpoint-every"), help: "Entries between signed checkpoints of a shard's chain (env CRM_AUDIT_CHECKPOINT_EVERY).")
    public var checkpointEvery: Int = Environment.int("CRM_AUDIT_CHECKPOINT_EVERY") ?? 1000

    @Option(name: .customLong("max-len"), help: "Keep each shard's audit stream at most this long, archiving older entries first (env CRM_AUDIT_MAX_LEN; 0 never trims).")
    public var maxLength: Int = Environment.int("CRM_AUDIT_MAX_LEN") ?? 0

    @Option(name: .customLong("archive-dir"), help: "Where archived entries go, as JSON Lines per shard per day (env CRM_AUDIT_ARCHIVE_DIR); needed with --max-len.")
    public var archiveDirectory: String? = Environment.string("CRM_AUDIT_ARCHIVE_DIR")

    @Option(name: .customLong("archive-every-ms"), help: "How often the stream lengths are checked, in ms (env CRM_AUDIT_ARCHIVE_EVERY_MS).")
    public var archiveEveryMilliseconds: Int = Environment.int("CRM_AUDIT_ARCHIVE_EVERY_MS") ?? 10_000

    public init() {}

    public func validate() throws {
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every (CRM_AUDIT_CHECKPOINT_EVERY) must be at least 1") }
        _ = try key()
        guard maxLength >= 0 else { throw ValidationError("--max-len (CRM_AUDIT_MAX_LEN) must be 0 or more") }
        if maxLength > 0, archiveDirectory == nil {
            throw ValidationError("--max-len (CRM_AUDIT_MAX_LEN) needs --archive-dir (CRM_AUDIT_ARCHIVE_DIR): entries are archived before they are trimmed")
        }
        guard archiveEveryMilliseconds >= 10 else { throw ValidationError("--archive-every-ms (CRM_AUDIT_ARCHIVE_EVERY_MS) must be at least 10") }
    }

    /// The parsed signing key, nil when none is configured.
    func key() throws -> Curve25519.Signing.PrivateKey? {
        guard let signingKey else { return nil }
        guard let raw = Data(base64Encoded: signingKey), let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
            throw ValidationError("--signing-key (CRM_AUDIT_SIGNING_KEY) is not a base64 Ed25519 private key")
        }
        return key
    }

    public static func fromEnvironment() throws -> AuditOptions { try parse([]) }
}
