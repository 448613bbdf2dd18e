import Contracts
import Testing

/// DESIGN §3 "Outcome of a command": exactly one command.accepted or command.rejected, whose
/// causationId is the command's id and whose correlationId is the chain's first command.
@Suite("CommandOutcome")
struct OutcomeTests {
    static let started = Fixture.command(payload: ["leadId": "L-1001"])
    static let chained = Fixture.command(correlationId: "first-command", payload: ["leadId": "L-1001"])

    static func created(by command: Envelope) -> Envelope {
        command.event(type: "lead.created", payload: ["leadId": "L-1001", "stage": "new"])
    }

    @Test("accepted: caused by the command, same tenant and actor, payload names the events and the record")
    func accepted() {
        let command = Self.started
        let event = Self.created(by: command)
        let outcome = CommandOutcome.accepted(command, events: [event], recordID: "L-1001", recordVersion: 1)
        #expect(outcome.type == "command.accepted")
        #expect(outcome.kind == .event)
        #expect(outcome.version == 1)
        #expect(outcome.causationId == command.id)
        #expect(outcome.correlationId == command.id, "a command without correlationId starts its own chain")
        #expect(outcome.tenant == command.tenant)
        #expect(outcome.actor == command.actor)
        #expect(outcome.id != command.id)
        #expect(Identifier.isMessageID(outcome.id))
        #expect(Timestamp.isValid(outcome.occurredAt))
        #expect(outcome.payload == [
            "commandId": "cmd-1",
            "commandType": "lead.create",
            "events": [["id": .string(event.id), "type": "lead.created"]],
            "recordId": "L-1001",
            "recordVersion": 1,
        ])
    }

    @Test("accepted without a record leaves recordId and recordVersion out; events keep their order")
    func acceptedWithoutRecord() {
        let command = Self.chained
        let first = command.event(type: "definition.published", payload: [:])
        let second = command.event(type: "lead.updated", payload: [:])
        let outcome = CommandOutcome.accepted(command, events: [first, second])
        #expect(outcome.correlationId == "first-command", "the chain's first command, not this one")
        #expect(outcome.causationId == "cmd-1")
        #expect(outcome.payload["recordId"] == nil)
        #expect(outcome.payload["recordVersion"] == nil)
        #expect(outcome.payload["events"] == [["id": .string(first.id), "type": "definition.published"],
                                              ["id": .string(second.id), "type": "lead.updated"]])
        #expect(CommandOutcome.accepted(command, events: []).payload["events"] == [])
    }

    @Test("the events a command causes carry the same causation and correlation")
    func causedEvents() {
        let event = Self.created(by: Self.chained)
        #expect(event.causationId == "cmd-1")
        #expect(event.correlationId == "first-command")
        #expect(event.kind == .event)
        #expect(event.tenant == "acme")
        #expect(Self.created(by: Self.started).correlationId == "cmd-1")
        #expect(Self.started.event(type: "lead.created", payload: [:], actor: "system").actor == "system")
    }

    @Test("rejected: code, message, field and the record the command named in the payload")
    func rejected() {
        let command = Self.chained
        let outcome = CommandOutcome.rejected(command, Rejection(.unknownDefinition, "no version 9", field: "payload.definitionVersion"))
        #expect(outcome.type == "command.rejected")
        #expect(outcome.kind == .event)
        #expect(outcome.causationId == command.id)
        #expect(outcome.correlationId == "first-command")
        #expect(outcome.tenant == command.tenant)
        #expect(outcome.payload == [
            "commandId": "cmd-1",
            "commandType": "lead.create",
            "code": "unknown_definition",
            "message": "no version 9",
            "field": "payload.definitionVersion",
            "recordId": "L-1001",
        ])
    }

    @Test("rejected without a field leaves it out; the message is cut at 2,000 characters")
    func rejectedLimits() {
        let outcome = CommandOutcome.rejected(Self.started, Rejection(.internal, String(repeating: "é", count: 2500)))
        #expect(outcome.correlationId == "cmd-1")
        #expect(outcome.payload["field"] == nil)
        #expect(outcome.payload["code"] == "internal")
        #expect(outcome.payload["message"]?.stringValue?.count == 2000)
    }

    @Test("rejection codes are the wire contract's")
    func rejectionCodes() {
        #expect(RejectionCode.allCases.map(\.rawValue) == [
            "invalid_payload", "invalid_definition", "unknown_definition", "already_exists", "conflict", "invalid_transition", "guard_failed", "vetoed", "too_large",
            "not_found", "already_fired", "forbidden", "internal", "unknown_user", "inactive_user", "empty_pool", "invalid_delegation", "forbidden_self_assignment",
            "not_an_approver", "forbidden_self_approval", "already_voted", "approval_required",
        ])
    }

    @Test("outcomes pass the reader and the v1 catalog as events")
    func outcomesAreValidEnvelopes() throws {
        let accepted = CommandOutcome.accepted(Self.started, events: [Self.created(by: Self.started)], recordID: "L-1001", recordVersion: 1)
        let rejected = CommandOutcome.rejected(Self.chained, Rejection(.conflict, "changed concurrently"))
        for outcome in [accepted, rejected] {
            let read = try EnvelopeReader().read(outcome.encoded())
            #expect(read == outcome)
            #expect(try MessageCatalog.v1.accept(read, consumer: "audit") == outcome)
        }
    }
}

/// DESIGN §3 command table: a command goes to the stream of the service that owns its type.
@Suite("CommandRouting")
struct CommandRoutingTests {
    @Test("each prefix of the design's table routes to its service", arguments: [
        ("lead.create", CommandStream.pipeline), ("lead.apply", .pipeline), ("definition.publish", .pipeline),
        ("fields.configure", .pipeline), ("contact.add", .pipeline), ("opportunity.update", .pipeline),
        ("interaction.log", .pipeline), ("branch.complete", .pipeline), ("saga.abort", .pipeline),
        ("assignment.request", .assignment), ("approval.vote", .assignment), ("delegation.set", .assignment),
        ("directory.put_user", .assignment),
        ("timer.schedule", .sla), ("timer.cancel", .sla),
        ("integration.invoke", .integration), ("integration.compensate", .integration),
    ])
    func routes(type: String, stream: CommandStream) {
        #expect(CommandRouting.stream(forType: type) == stream)
    }

    @Test("unknown prefixes have no stream", arguments: ["unknown.thing", "report.run", "", "leads.create", "Lead.create"])
    func unknown(type: String) {
        #expect(CommandRouting.stream(forType: type) == nil)
    }
}
