import CrmCore
import Testing

@Suite("RBAC (SEC-CRM-0467, SEC-CRM-0437, FUN-CRM-0249)")
struct AuthorizationTests {
    let guarded = PipelineDefinition(entity: .lead, name: "Guarded",
                                     stages: [StageDefinition(name: "new", initial: true), StageDefinition(name: "qualified")],
                                     transitions: [TransitionDefinition(action: "qualify", from: ["new"], to: "qualified")],
                                     permissions: ["create": ["sales", "admin"], "qualify": ["manager"]])
    let rep = DirectoryUser(userId: "u-rep", roles: ["sales"])
    let manager = DirectoryUser(userId: "u-boss", roles: ["manager"])

    @Test("a definition without permissions is open to every actor, known or not")
    func open() {
        var open = guarded
        open.permissions = [:]
        #expect(Authorization.can(actor: "anyone", user: nil, permission: "qualify", definition: open))
    }

    @Test("listed permissions need one of their roles; unlisted ones any active directory user; unknown actors nothing")
    func roles() {
        #expect(Authorization.can(actor: "u-rep", user: rep, permission: "create", definition: guarded))
        #expect(!Authorization.can(actor: "u-rep", user: rep, permission: "qualify", definition: guarded))
        #expect(Authorization.can(actor: "u-boss", user: manager, permission: "qualify", definition: guarded))
        #expect(Authorization.can(actor: "u-rep", user: rep, permission: "update", definition: guarded))
        #expect(Authorization.check(actor: "u-x", user: nil, permission: "update", definition: guarded)?.code == "forbidden")
        var former = rep
        former.active = false
        #expect(!Authorization.can(actor: "u-rep", user: former, permission: "create", definition: guarded), "an inactive user is not admitted")
    }

    @Test("administration: open until the tenant has a directory, then admins only")
    func administration() {
        #expect(Authorization.checkAdministration(actor: "u-1", user: nil, directoryExists: false) == nil)
        #expect(Authorization.checkAdministration(actor: "u-rep", user: rep, directoryExists: true)?.code == "forbidden")
        #expect(Authorization.checkAdministration(actor: "u-a", user: DirectoryUser(userId: "u-a", roles: ["admin"]), directoryExists: true) == nil)
    }

    @Test("permissions naming no known action, or no role, are refused at publish")
    func compileChecks() {
        var broken = guarded
        broken.permissions = ["teleport": ["sales"], "create": [], "update": ["Not A Role"]]
        do {
            _ = try CompiledDefinition.compile(broken, version: 1)
            Issue.record("compiled")
        } catch {
            #expect(Set(error.problems.map(\.path)) == ["permissions.teleport", "permissions.create", "permissions.update"])
        }
    }
}
