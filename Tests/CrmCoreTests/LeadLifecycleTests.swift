import CrmCore
import Testing

@Suite("Lead updates and actions: data rules, guards, conditional routing, versions")
struct LeadLifecycleTests {
    static let definition: PipelineDefinition = PipelineDefinition(
        entity: .lead, name: "Inbound",
        stages: [StageDefinition(name: "new", initial: true), StageDefinition(name: "qualified"), StageDefinition(name: "nurture"),
                 StageDefinition(name: "won", terminal: .won), StageDefinition(name: "lost", terminal: .lost)],
        transitions: [
            // FUN-CRM-0277: score > 50 goes to qualified, anything else to nurture.
            TransitionDefinition(action: "qualify", from: ["new"], to: "qualified", condition: "data.score > 50"),
            TransitionDefinition(action: "qualify", from: ["new"], to: "nurture"),
            TransitionDefinition(action: "close_won", from: ["qualified"], to: "won", guard: "data.budget >= 1000 and data.email != null"),
            TransitionDefinition(action: "close_lost", from: ["new", "qualified", "nurture"], to: "lost"),
            TransitionDefinition(action: "requalify", from: ["nurture"], to: "qualified", condition: "days_since(data.last_contact) < 30"),
            TransitionDefinition(action: "reopen", from: ["won", "lost"], to: "new"),
        ],
        fields: [
            FieldRule(name: "name", type: .string, required: true, maxLength: 50),
            FieldRule(name: "email", type: .email),
            FieldRule(name: "phone", type: .phone),
            FieldRule(name: "score", type: .number, min: 0, max: 100),
            FieldRule(name: "budget", type: .number),
            FieldRule(name: "tier", type: .enum, values: ["gold", "silver"]),
            FieldRule(name: "last_contact", type: .date),
            FieldRule(name: "tags", type: .array, maxLength: 3),
            FieldRule(name: "vip", type: .boolean),
        ])

    let compiled: CompiledDefinition
    let day = 86_400.0
    let now = 1_795_000_000.0

    init() throws {
        compiled = try CompiledDefinition.compile(Self.definition, version: 1)
    }

    func lead(_ data: [String: FieldValue], stage: String = "new", version: Int = 1) -> PipelineRecord {
        PipelineRecord(id: "L-1", stage: stage, definitionVersion: 1, data: data, version: version)
    }

    // FUN-CRM-0283: data validation names the field.
    @Test(arguments: [
        (["name": FieldValue.integer(5)], "payload.data.name"),
        (["name": "A", "email": "not-an-email"], "payload.data.email"),
        (["name": "A", "score": 101], "payload.data.score"),
        (["name": "A", "tier": "bronze"], "payload.data.tier"),
        (["name": "A", "phone": "call me"], "payload.data.phone"),
        (["name": "A", "last_contact": "yesterday"], "payload.data.last_contact"),
        (["name": "A", "tags": .list(["a", "b", "c", "d"])], "payload.data.tags"),
        (["name": "A", "unknown": "x"], "payload.data.unknown"),
        (["email": "a@b.co"], "payload.data.name"),
        (["name": .string(String(repeating: "x", count: 51))], "payload.data.name"),
    ] as [([String: FieldValue], String)])
    func createValidates(_ data: [String: FieldValue], _ field: String) {
        do {
            _ = try RecordRules.create(CreateRecord(recordID: "L-1", data: data, definitionVersion: nil), existing: nil, definition: compiled)
            Issue.record("\(data) was accepted")
        } catch {
            #expect(error.field == field)
            #expect(error.code == "invalid_payload")
        }
    }

    @Test("a valid lead of every field type is created")
    func createAccepts() throws {
        let data: [String: FieldValue] = ["name": "Ada", "email": "ada@example.com", "phone": "+44 (20) 7946-0958", "score": 72, "budget": .number(2500.5),
                                          "tier": "gold", "last_contact": "2026-11-01", "tags": .list(["a", "b"]), "vip": true]
        guard case .created(let record) = try RecordRules.create(CreateRecord(recordID: "L-1", data: data, definitionVersion: nil), existing: nil, definition: compiled) else {
            Issue.record("expected a new record"); return
        }
        #expect(record.data == data)
    }

    // SEC-CRM-0461: field changes carry old and new values.
    @Test("an update reports each field's old and new value, bumps the version, and null clears a field")
    func update() throws {
        let (updated, changes) = try RecordRules.update(lead(["name": "Ada", "score": 40, "tier": "gold"]), changes: ["score": 60, "tier": .null, "name": "Ada"],
                                                      expectedVersion: 1, definition: compiled)
        #expect(changes == [FieldChange(field: "score", old: 40, new: 60), FieldChange(field: "tier", old: "gold", new: .null)])
        #expect(updated.version == 2)
        #expect(updated.data == ["name": "Ada", "score": 60])
        let (same, none) = try RecordRules.update(updated, changes: ["score": 60], expectedVersion: nil, definition: compiled)
        #expect(none.isEmpty)
        #expect(same == updated, "an update that changes nothing writes nothing")
    }

    // REL-CRM-0397: optimistic concurrency.
    @Test("a stale expectedVersion is a conflict naming the field")
    func staleVersion() {
        do {
            _ = try RecordRules.update(lead(["name": "Ada"], version: 3), changes: ["score": 1], expectedVersion: 2, definition: compiled)
            Issue.record("expected a conflict")
        } catch {
            #expect(error.code == "conflict")
            #expect(error.field == "payload.expectedVersion")
        }
    }

    @Test("conditional routing: the first transition whose condition holds is taken (score > 50 → qualified)")
    func conditionalRouting() throws {
        let high = try RecordRules.apply(lead(["name": "A", "score": 72]), action: "qualify", expectedVersion: 1, definition: compiled, now: now)
        #expect(high.to == "qualified")
        #expect(high.record.stage == "qualified")
        #expect(high.record.version == 2)
        let low = try RecordRules.apply(lead(["name": "A", "score": 20]), action: "qualify", expectedVersion: nil, definition: compiled, now: now)
        #expect(low.to == "nurture")
        let unknownScore = try RecordRules.apply(lead(["name": "A"]), action: "qualify", expectedVersion: nil, definition: compiled, now: now)
        #expect(unknownScore.to == "nurture", "a missing value makes the condition false, never an error")
    }

    // FUN-CRM-0261: guard conditions on actions.
    @Test("a guard that does not hold refuses the action with guard_failed; once it holds the action passes")
    func guards() throws {
        let qualified = lead(["name": "A", "budget": 500], stage: "qualified")
        #expect(throws: DomainRejection.self) { try RecordRules.apply(qualified, action: "close_won", expectedVersion: nil, definition: compiled, now: now) }
        do {
            _ = try RecordRules.apply(qualified, action: "close_won", expectedVersion: nil, definition: compiled, now: now)
        } catch {
            #expect(error.code == "guard_failed")
        }
        let ready = lead(["name": "A", "budget": 5000, "email": "a@b.co"], stage: "qualified")
        #expect(try RecordRules.apply(ready, action: "close_won", expectedVersion: nil, definition: compiled, now: now).to == "won")
    }

    @Test("actions not defined, or not from this stage, or with no condition holding are invalid_transition")
    func invalidTransitions() {
        for (record, action) in [(lead(["name": "A"]), "teleport"), (lead(["name": "A"], stage: "won"), "qualify"),
                                 (lead(["name": "A", "last_contact": "2026-01-01"], stage: "nurture"), "requalify")] {
            do {
                _ = try RecordRules.apply(record, action: action, expectedVersion: nil, definition: compiled, now: now)
                Issue.record("\(action) from \(record.stage) was allowed")
            } catch {
                #expect(error.code == "invalid_transition", "\(action): \(error)")
            }
        }
        let recent = lead(["name": "A", "last_contact": "2026-11-20"], stage: "nurture")
        #expect((try? RecordRules.apply(recent, action: "requalify", expectedVersion: nil, definition: compiled, now: 1_795_000_000))?.to == "qualified",
                "dates in data are compared as instants")
    }

    @Test("bad expressions and field rules are refused at publish, each with its path")
    func compileErrors() {
        var broken = Self.definition
        broken.transitions[0].condition = "data.score > 'high'"
        broken.transitions[2].guardExpression = "data.nope == 1"
        broken.fields.append(FieldRule(name: "kind", type: .enum))
        broken.fields.append(FieldRule(name: "score", type: .number))
        do {
            _ = try CompiledDefinition.compile(broken, version: 1)
            Issue.record("compiled")
        } catch {
            let paths = error.problems.map(\.path)
            #expect(paths.contains("transitions[0].condition"))
            #expect(paths.contains("transitions[2].guard"))
            #expect(paths.contains("fields[9].values"))
            #expect(paths.contains("fields[10].name"))
            #expect(error.problems.first { $0.path == "transitions[0].condition" }?.message.contains("column") == true)
        }
    }

    // FUN-CRM-0282: close and reopen.
    @Test("a closed lead reopens only through 'reopen'; other actions cannot leave a terminal stage")
    func reopen() throws {
        let lost = try RecordRules.apply(lead(["name": "A"]), action: "close_lost", expectedVersion: nil, definition: compiled, now: now)
        #expect(lost.to == "lost")
        let reopened = try RecordRules.apply(lost.record, action: "reopen", expectedVersion: 2, definition: compiled, now: now)
        #expect(reopened.to == "new")
        #expect(reopened.record.version == 3)
        var leaky = Self.definition
        leaky.transitions.append(TransitionDefinition(action: "revive", from: ["won"], to: "qualified"))
        #expect(throws: DefinitionErrors.self) { try CompiledDefinition.compile(leaky, version: 1) }
    }

    @Test("custom fields check their own keys; free-form data stays free-form beside them")
    func customFieldsOnFreeFormData() throws {
        var plain = Self.definition
        plain.fields = []
        plain.transitions = [TransitionDefinition(action: "close_lost", from: ["new"], to: "lost")]
        plain.stages = [StageDefinition(name: "new", initial: true), StageDefinition(name: "lost", terminal: .lost)]
        let compiledPlain = try CompiledDefinition.compile(plain, version: 1)
        let custom = try CustomFields().configured(adding: [FieldRule(name: "employees", type: .number, min: 0)], removing: [], definitionFields: [])
        let ok = CreateRecord(recordID: "L-1", data: ["anything": "goes", "employees": 5], definitionVersion: nil)
        #expect((try? RecordRules.create(ok, existing: nil, definition: compiledPlain, custom: custom)) != nil)
        let bad = CreateRecord(recordID: "L-2", data: ["anything": "goes", "employees": -1], definitionVersion: nil)
        do {
            _ = try RecordRules.create(bad, existing: nil, definition: compiledPlain, custom: custom)
            Issue.record("a negative employee count passed")
        } catch {
            #expect(error.field == "payload.data.employees")
        }
    }
}
