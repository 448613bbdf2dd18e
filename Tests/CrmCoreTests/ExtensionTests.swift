import CrmCore
import Synchronization
import Testing

@Suite("Registered Swift conditions and hooks (FUN-CRM-0221, FUN-CRM-0267)")
struct ExtensionTests {
    final class Journal: Sendable {
        let entries = Mutex<[String]>([])
        func note(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    func definition(requires: [String] = [], before: [String] = [], after: [String] = []) -> PipelineDefinition {
        PipelineDefinition(entity: .lead, name: "Hooked", stages: [StageDefinition(name: "new", initial: true), StageDefinition(name: "won", terminal: .won)],
                           transitions: [TransitionDefinition(action: "close_won", from: ["new"], to: "won", requires: requires,
                                                              hooks: TransitionHookNames(before: before, after: after))])
    }

    let lead = PipelineRecord(id: "L-1", stage: "new", definitionVersion: 1, data: ["budget": 5000], version: 1)

    @Test("before hooks run in order and one veto stops the action with its reason; registered conditions gate it")
    func beforeHooksAndConditions() throws {
        let journal = Journal()
        var registry = ExtensionRegistry()
        registry.before("audit_trail") { proposal in journal.note("audit_trail \(proposal.from)->\(proposal.to) by \(proposal.actor)"); return .proceed }
        registry.before("no_weekend_deals") { _ in journal.note("no_weekend_deals"); return .veto("deals close on weekdays") }
        registry.condition("has_budget") { $0.record.data["budget"] != nil }
        registry.condition("never") { _ in false }

        let vetoing = try CompiledDefinition.compile(definition(requires: ["has_budget"], before: ["audit_trail", "no_weekend_deals"]), version: 1, registry: registry)
        do {
            _ = try RecordRules.apply(lead, action: "close_won", expectedVersion: nil, definition: vetoing, now: 0, actor: "u-7", registry: registry)
            Issue.record("the veto was ignored")
        } catch {
            #expect(error.code == "vetoed")
            #expect(error.message.contains("deals close on weekdays"))
        }
        #expect(journal.all == ["audit_trail new->won by u-7", "no_weekend_deals"], "hooks run in the order listed")

        let gated = try CompiledDefinition.compile(definition(requires: ["has_budget", "never"]), version: 1, registry: registry)
        do {
            _ = try RecordRules.apply(lead, action: "close_won", expectedVersion: nil, definition: gated, now: 0, registry: registry)
            Issue.record("a failing registered condition let the action through")
        } catch {
            #expect(error.code == "guard_failed")
            #expect(error.message.contains("never"))
        }
        let open = try CompiledDefinition.compile(definition(requires: ["has_budget"], after: []), version: 1, registry: registry)
        #expect(try RecordRules.apply(lead, action: "close_won", expectedVersion: nil, definition: open, now: 0, registry: registry).to == "won")
    }

    @Test("a definition naming an unregistered condition or hook is refused at publish")
    func unknownNames() {
        do {
            _ = try CompiledDefinition.compile(definition(requires: ["ghost"], before: ["phantom"], after: ["spirit"]), version: 1)
            Issue.record("compiled")
        } catch {
            #expect(error.problems.map(\.path) == ["transitions[0].requires", "transitions[0].hooks.before", "transitions[0].hooks.after"])
        }
    }

    @Test("the change names its after hooks, for the service to run once committed")
    func afterHooksNamed() throws {
        var registry = ExtensionRegistry()
        registry.after("notify_finance") { _ in }
        let compiled = try CompiledDefinition.compile(definition(after: ["notify_finance"]), version: 1, registry: registry)
        let change = try RecordRules.apply(lead, action: "close_won", expectedVersion: nil, definition: compiled, now: 0, registry: registry)
        #expect(change.afterHooks == ["notify_finance"])
    }
}
