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

    public init() {}

    public func validate() throws {
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every (CRM_AUDIT_CHECKPOINT_EVERY) must be at least 1") }
        _ = try key()
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
