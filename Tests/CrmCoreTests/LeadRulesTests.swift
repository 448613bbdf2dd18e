import CrmCore
import Foundation
import Testing

@Suite("RecordRules.create")
struct LeadRulesTests {
    static let data: [String: FieldValue] = ["name": .string("Ada Lovelace"), "score": .integer(72), "vip": .bool(true),
                                             "ratio": .number(0.5), "note": .null]

    static func compiled(_ definition: PipelineDefinition = Pipelines.lead, version: Int = 2) throws -> CompiledDefinition {
        try CompiledDefinition.compile(definition, version: version)
    }

    func rejection(_ body: () throws -> RecordCreation) -> DomainRejection? {
        do {
            let result = try body()
            Issue.record("expected a rejection, got \(result)")
            return nil
        } catch let rejection as DomainRejection {
            return rejection
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("no definition → unknown_definition without a field when no version was pinned")
    func noDefinitionLatest() {
        let rejection = rejection {
            try RecordRules.create(CreateRecord(recordID: "L-1", data: [:], definitionVersion: nil), existing: nil, definition: nil)
        }
        #expect(rejection?.code == "unknown_definition")
        #expect(rejection?.field == nil)
        #expect(rejection?.message.contains("definition.publish") == true, "the message says how to fix it")
    }

    @Test("no definition of a pinned version → unknown_definition at payload.definitionVersion")
    func noDefinitionPinned() {
        let rejection = rejection {
            try RecordRules.create(CreateRecord(recordID: "L-1", data: [:], definitionVersion: 9), existing: nil, definition: nil)
        }
        #expect(rejection?.code == "unknown_definition")
        #expect(rejection?.field == "payload.definitionVersion")
        #expect(rejection?.message.contains("version 9 of the lead definition") == true)
    }

    @Test("FUN-CRM-0276: an opportunity definition cannot start a lead → unknown_definition")
    func opportunityDefinition() throws {
        let definition = try Self.compiled(Pipelines.opportunity, version: 5)
        let rejection = rejection {
            try RecordRules.create(CreateRecord(recordID: "L-1", data: [:], definitionVersion: 5), existing: nil, definition: definition)
        }
        #expect(rejection?.code == "unknown_definition")
        #expect(rejection?.message.contains("definition version 5") == true)
        #expect(rejection?.field == nil)
    }

    @Test("FUN-CRM-0276: a new lead starts in the initial stage at version 1, on the definition's version, with the data given")
    func createsLead() throws {
        let creation = try RecordRules.create(CreateRecord(recordID: "L-1001", data: Self.data, definitionVersion: nil),
                                            existing: nil, definition: try Self.compiled(version: 2))
        guard case .created(let lead) = creation else {
            Issue.record("expected .created, got \(creation)")
            return
        }
        #expect(lead.id == "L-1001")
        #expect(lead.stage == "new")
        #expect(lead.version == 1)
        #expect(lead.definitionVersion == 2)
        // A null value means "no value": it is not stored.
        let stored = Self.data.filter { $0.value != .null }
        #expect(lead.data == stored)
        #expect(creation == .created(PipelineRecord(id: "L-1001", stage: "new", definitionVersion: 2, data: stored, version: 1)))
    }

    @Test("the initial stage comes from the definition, wherever it is declared")
    func initialStageFromDefinition() throws {
        let definition = PipelineDefinition(
            entity: .lead, name: "Reversed",
            stages: [StageDefinition(name: "closed", terminal: .lost), StageDefinition(name: "triage", initial: true)],
            transitions: [TransitionDefinition(action: "close", from: ["triage"], to: "closed")])
        let creation = try RecordRules.create(CreateRecord(recordID: "L-2", data: [:], definitionVersion: 7), existing: nil,
                                            definition: try Self.compiled(definition, version: 7))
        #expect(creation == .created(PipelineRecord(id: "L-2", stage: "triage", definitionVersion: 7, data: [:], version: 1)))
    }

    @Test("BUS-CRM-0079: one CRM instance per subject — an existing record is returned unchanged")
    func existingRecord() throws {
        let existing = PipelineRecord(id: "L-1001", stage: "qualified", definitionVersion: 1, data: ["name": .string("Ada")], version: 4)
        let creation = try RecordRules.create(CreateRecord(recordID: "L-1001", data: ["name": .string("Someone else")], definitionVersion: nil),
                                            existing: existing, definition: try Self.compiled(version: 2))
        #expect(creation == .existing(existing))
        #expect(creation != .created(existing))
    }

    @Test("BUS-CRM-0079: the existing record wins even when no definition is found any more")
    func existingWithoutDefinition() throws {
        let existing = PipelineRecord(id: "L-7", stage: "new", definitionVersion: 1, data: [:], version: 1)
        let creation = try RecordRules.create(CreateRecord(recordID: "L-7", data: [:], definitionVersion: 3), existing: existing, definition: nil)
        #expect(creation == .existing(existing))
    }

    @Test("a DomainRejection describes itself as code: message")
    func rejectionDescription() {
        #expect(DomainRejection(code: "conflict", message: "changed", field: "payload.x").description == "conflict: changed")
        #expect(DomainRejection(code: "conflict", message: "changed").field == nil)
    }
}

/// The naming rule of stages and actions (FUN-CRM-0276): `^[a-z][a-z0-9_]{0,62}$`.
@Suite("Names.isValid")
struct NamesTests {
    @Test("accepts and refuses", arguments: [
        ("new", true), ("close_won", true), ("stage2", true), ("a", true), ("a_1_b", true), (String(repeating: "a", count: 63), true),
        ("", false), ("New", false), ("2nd", false), ("_new", false), ("close-won", false), ("close won", false), ("a.b", false),
        ("qualifié", false), ("naïve", false), (String(repeating: "a", count: 64), false), ("a\n", false),
    ])
    func isValid(_ name: String, _ valid: Bool) {
        #expect(Names.isValid(name) == valid)
    }
}

@Suite("FieldValue JSON")
struct FieldValueTests {
    @Test("record data round-trips through JSON with its types kept (FUN-CRM-0275: records stored as JSON)")
    func roundTrip() throws {
        let record = PipelineRecord(id: "L-1", stage: "new", definitionVersion: 1, data: LeadRulesTests.data, version: 1)
        let data = try JSONEncoder().encode(record)
        #expect(try JSONDecoder().decode(PipelineRecord.self, from: data) == record)
    }
}
