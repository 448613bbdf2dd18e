import Contracts
import Testing

/// The identifier rules of contracts/README.md §2 and §6. They keep ids safe to embed in key names
/// (no `{`, `}`, `:` or spaces), which is what keeps one tenant's keys from reaching another's (SEC-CRM-0449).
@Suite("Identifier rules")
struct IdentifierTests {
    static let x63 = String(repeating: "a", count: 63)
    static let x64 = String(repeating: "a", count: 64)
    static let x128 = String(repeating: "A", count: 128)
    static let x129 = String(repeating: "A", count: 129)

    @Test("isTenant: ^[a-z0-9][a-z0-9_-]{0,62}$", arguments: [
        ("acme", true), ("tenant-42", true), ("a_b", true), ("0acme", true), ("a", true), (x63, true),
        ("", false), ("Acme", false), ("ACME", false), ("ac{me", false), ("ac}me", false), ("acme:1", false),
        ("-acme", false), ("_acme", false), ("ac me", false), ("ac.me", false), ("acmé", false), (x64, false), ("a@b", false),
    ])
    func tenant(_ text: String, _ valid: Bool) {
        #expect(Identifier.isTenant(text) == valid)
    }

    @Test("isMessageID: ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", arguments: [
        ("01a20f5b-c162-7cbf-9631-048fd978aa3e", true), ("01J9Z7ABCDEFGHJKMNPQRSTVWX", true), ("L-1001", true),
        ("a.b_c-d", true), ("7", true), (x128, true),
        ("", false), ("has space", false), ("-x", false), (".x", false), ("_x", false), ("a:b", false), ("{s1}", false),
        ("a/b", false), ("a@b", false), ("ü", false), (x129, false),
    ])
    func messageID(_ text: String, _ valid: Bool) {
        #expect(Identifier.isMessageID(text) == valid)
    }

    @Test("isActor: ^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$", arguments: [
        ("u-17", true), ("ada@example.com", true), ("Service.Account_1", true), (x128, true),
        ("", false), ("@ada", false), ("u 17", false), ("u:17", false), ("u{17}", false), ("ädä", false), (x129, false),
    ])
    func actor(_ text: String, _ valid: Bool) {
        #expect(Identifier.isActor(text) == valid)
    }

    @Test("isMessageType: ^[a-z][a-z_]*(\\.[a-z][a-z_]*)+$, at most 64", arguments: [
        ("lead.create", true), ("lead.stage_changed", true), ("a.b.c", true), ("directory.put_user", true),
        ("a." + String(repeating: "b", count: 62), true),
        ("lead", false), ("", false), (".lead", false), ("lead.", false), ("lead..create", false), ("Lead.create", false),
        ("lead.Create", false), ("lead.create2", false), ("lead._create", false), ("lead.cre-ate", false), ("lead create", false),
        ("a." + String(repeating: "b", count: 63), false),
    ])
    func messageType(_ text: String, _ valid: Bool) {
        #expect(Identifier.isMessageType(text) == valid)
    }

    @Test("isName (stages and actions): ^[a-z][a-z0-9_]{0,62}$", arguments: [
        ("new", true), ("close_won", true), ("stage2", true), (x63, true),
        ("", false), ("2nd", false), ("_x", false), ("New", false), ("close-won", false), ("a.b", false), (x64, false),
    ])
    func name(_ text: String, _ valid: Bool) {
        #expect(Identifier.isName(text) == valid)
    }
}
