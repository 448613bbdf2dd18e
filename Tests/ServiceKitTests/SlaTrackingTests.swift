import Contracts
import CrmCore
import CrmRedis
import Foundation
import Logging
import RedisClient
import ServiceKit
import SlaTimerService
import TestSupport
import Testing

/// sla-timer-service reacting to record events with SLA clocks, against a real redis-server.
@Suite("sla-timer-service: SLA tracking", .serialized)
struct SlaTrackingTests {
    let fixture: ConsumerFixture
    let context: ServiceContext

    init() async throws {
        fixture = try await ConsumerFixture()
        // The service's own pool, as ServiceRunner gives it, apart from the fixture's.
        let pool = RedisPool(endpoint: fixture.server.endpoint, size: 8, waitTimeout: .seconds(10))
        context = ServiceContext(name: "sla-timer-service", options: try ServiceOptions.fromEnvironment(), pool: pool, router: fixture.router,
                                 logger: Logger(label: "test"))
    }

    /// Stores lead definition version 1 with these SLA policies, as pipeline-service would have.
    func storeDefinition(sla: [SlaPolicy] = [], calendars: [String: BusinessCalendar] = [:], escalation: [EscalationLevel] = [],
                         fields: [FieldRule] = []) async throws {
        var definition = PipelineDefinition(entity: .lead, name: "Inbound", stages: [
            StageDefinition(name: "new", initial: true), StageDefinition(name: "contacted"), StageDefinition(name: "won", terminal: .won),
        ], transitions: [TransitionDefinition(action: "contact", from: ["new"], to: "contacted"),
                         TransitionDefinition(action: "close_won", from: ["contacted"], to: "won")])
        definition.sla = sla
        definition.calendars = calendars
        definition.escalation = escalation
        definition.fields = fields
        #expect(throws: Never.self) { try CompiledDefinition.compile(definition, version: 1) }
        try await fixture.redis.send("HSET", fixture.shard.definitions(tenant: fixture.tenant, entity: "lead"), "v", 1, "d:1",
                                     Array(try JSONEncoder().encode(definition)))
    }

    /// Stores the record as pipeline-service would have, in `stage`.
    func storeRecord(_ leadID: String, stage: String = "new", data: String = "{}") async throws {
        try await fixture.redis.send("HSET", fixture.shard.record(tenant: fixture.tenant, entity: "lead", id: leadID), "v", 1, "d",
                                     "{\"id\":\"\(leadID)\",\"stage\":\"\(stage)\",\"definitionVersion\":1,\"data\":\(data),\"version\":1}")
    }

    func created(_ leadID: String, at time: String = Envelope.timestamp()) async throws -> Envelope {
        try await storeRecord(leadID)
        return Envelope(type: "lead.created", kind: .event, tenant: fixture.tenant, actor: "u-17", occurredAt: time,
                        payload: ["leadId": .string(leadID), "stage": "new", "definitionVersion": 1, "recordVersion": 1, "data": [:]])
    }

    func moved(_ leadID: String, from: String, to: String) -> Envelope {
        Envelope(type: "lead.stage_changed", kind: .event, tenant: fixture.tenant, actor: "u-17",
                 payload: ["leadId": .string(leadID), "action": "contact", "from": .string(from), "to": .string(to), "recordVersion": 2])
    }

    func publish(_ event: Envelope) async throws {
        try await fixture.publishRaw(event.encoded(), to: fixture.shard.events)
    }

    func events(_ type: String) async throws -> [Envelope] {
        try await fixture.redis.xrange(fixture.shard.events).map { try EnvelopeReader().read($0.field("envelope") ?? []) }.filter { $0.type == type }
    }

    func withService(_ body: () async throws -> Void) async throws {
        let wakeup = TimerWakeup()
        let consumer = fixture.consumer(SlaTimerHandler(context: context, wakeup: wakeup), name: "sla-1", claimIdle: .seconds(1))
        let firer = TimerFirer(context: context, settings: TimerSettings(pollMilliseconds: 20), wakeup: wakeup)
        let firing = Task { try await firer.run() }
        try await running(consumer, body)
        firer.requestStop()
        try await firing.value
    }

    // FUN-CRM-0286, USE-CRM-0560: at risk at the warning share, breached at the deadline, with real short durations.
    @Test("a lead entering a stage with an SLA: sla.started, then sla.at_risk and sla.breached at their instants")
    func startedAtRiskBreached() async throws {
        try await storeDefinition(sla: [SlaPolicy(stage: "new", name: "first_response", within: "PT0.8S", warnAt: 0.5,
                                                  onBreach: [BreachAction(action: "notify", to: "manager"), BreachAction(action: "escalate", to: "director")])])
        let event = try await created("L-1")
        let start = try #require(TimerDue.instant(event.occurredAt))
        try await withService {
            try await publish(event)
            #expect(try await eventually(timeout: .seconds(15)) { try await events("sla.breached").count == 1 })
        }
        let started = try #require(try await events("sla.started").first)
        #expect(started.payload["recordId"] == "L-1")
        #expect(started.payload["entity"] == "lead")
        #expect(started.payload["sla"] == "first_response")
        #expect(started.causationId == event.id)
        #expect(started.payload["deadline"] == .string(InstantText.rfc3339(milliseconds: start + 800)))
        #expect(started.payload["atRiskAt"] == .string(InstantText.rfc3339(milliseconds: start + 400)))
        let atRisk = try #require(try await events("sla.at_risk").first)
        let breached = try #require(try await events("sla.breached").first)
        let atRiskAt = try #require(atRisk.payload["atRiskAt"]?.stringValue.flatMap(TimerDue.instant))
        let breachedAt = try #require(breached.payload["breachedAt"]?.stringValue.flatMap(TimerDue.instant))
        #expect(atRiskAt >= start + 400, "at risk once half the promise is used, never early")
        #expect(breachedAt >= start + 800, "never early")
        #expect(breached.payload["actions"] == [["action": "notify", "to": "manager"], ["action": "escalate", "to": "director"]], "the breach actions of the policy")
        let escalated = try await events("record.escalated")
        #expect(escalated.count == 1 && escalated[0].payload["to"] == "director" && escalated[0].payload["subject"] == "lead:L-1", "escalate escalates at once")
        #expect(try await events("sla.met").isEmpty)
    }

    // FUN-CRM-0286: a response before the deadline meets the SLA and cancels its timers.
    @Test("leaving the stage before the deadline: sla.met, and its timers are gone, so no at-risk or breach can follow")
    func met() async throws {
        try await storeDefinition(sla: [SlaPolicy(stage: "new", name: "first_response", within: "PT30S")])
        try await withService {
            try await publish(try await created("L-2"))
            #expect(try await eventually { try await events("sla.started").count == 1 })
            #expect(try await fixture.redis.send("ZCARD", fixture.shard.timersDue).integer == 2, "an at-risk and a breach timer")
            try await publish(moved("L-2", from: "new", to: "contacted"))
            #expect(try await eventually { try await events("sla.met").count == 1 })
        }
        let met = try #require(try await events("sla.met").first)
        #expect(met.payload["recordId"] == "L-2")
        #expect(met.payload["metAt"] != nil)
        #expect(try await fixture.redis.send("ZCARD", fixture.shard.timersDue).integer == 0, "both timers cancelled with the sla.met")
        #expect(try await fixture.redis.send("ZCARD", fixture.shard.timersLeased).integer == 0)
        #expect(try await events("sla.at_risk").isEmpty)
        #expect(try await events("sla.breached").isEmpty)
    }

    // USE-CRM-0560: the business-hours calendar of the definition sets the instants.
    @Test("a lead created Friday 17:00 with 4 business hours, Mon–Fri 9–17: sla.started names Monday 12:12 and 13:00")
    func businessCalendar() async throws {
        try await storeDefinition(sla: [SlaPolicy(stage: "new", name: "first_response", within: "PT4H", calendar: "office")],
                                  calendars: ["office": BusinessCalendar(timeZone: "UTC", days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00")])
        try await withService {
            try await publish(try await created("L-3", at: "2026-11-27T17:00:00.000Z"))
            try await publish(moved("L-9", from: "new", to: "contacted"))  // an unknown record: nothing to do
            #expect(try await eventually { try await events("sla.started").count == 1 })
        }
        let started = try #require(try await events("sla.started").first)
        #expect(started.payload["atRiskAt"] == "2026-11-30T12:12:00.000Z")
        #expect(started.payload["deadline"] == "2026-11-30T13:00:00.000Z")
        #expect(started.payload["calendar"] == "office")
        #expect(try await fixture.dlq().isEmpty)
    }

    @Test("events without SLA work are acknowledged without effect; a redelivered event starts nothing twice")
    func idempotent() async throws {
        try await storeDefinition(sla: [SlaPolicy(stage: "new", name: "first_response", within: "PT1H")])
        let event = try await created("L-4")
        let other = Envelope(type: "lead.updated", kind: .event, tenant: fixture.tenant, actor: "u-17", payload: ["leadId": "L-4"])
        try await withService {
            try await publish(event)
            try await publish(event)
            try await publish(other)
            #expect(try await eventually {
                let groups = try await fixture.redis.xinfoGroups(fixture.shard.events)
                return groups.first?.lag == 0 && groups.first?.pending == 0
            })
        }
        #expect(try await events("sla.started").count == 1)
        #expect(try await fixture.redis.send("ZCARD", fixture.shard.timersDue).integer == 2, "one at-risk and one breach timer")
        #expect(try await fixture.dlq().isEmpty)
    }

    // BUS-CRM-0051, FUN-CRM-0285, USE-CRM-0559: three levels fire in order; activity resets them;
    // each step is a record.escalated event naming the record as its subject (its audit history).
    // Every instant is checked against the activity it counts from, so a slow machine cannot break it.
    // Rolling upgrades (contracts/README.md): interaction.logged of version 1 (what build N writes) and
    // of version 2 both count as activity; version 1 reaches the escalation rules upcast.
    @Test("an interaction logged as version 1 or version 2 restarts the escalation count of its record")
    func interactionActivity() async throws {
        try await storeDefinition(escalation: [EscalationLevel(after: "PT0.3S", action: .notify, to: "owner")])
        let create = try await created("L-7")
        func escalations() async throws -> [Envelope] {
            try await events("record.escalated").filter { $0.payload["recordId"] == "L-7" }
        }
        try await withService {
            try await publish(create)
            #expect(try await eventually(timeout: .seconds(15)) { try await escalations().count == 1 })
            for (version, subject) in [(1, ["subject": "lead:L-7"]), (2, ["subjectEntity": "lead", "subjectId": "L-7"])] as [(Int, [String: JSONValue])] {
                try await Task.sleep(for: .milliseconds(20))
                let logged = Envelope(type: "interaction.logged", version: version, kind: .event, tenant: fixture.tenant, actor: "u-17",
                                      payload: .object(subject.merging(["interactionId": .string("I-\(version)"), "kind": "call", "notes": "", "attachments": []]) { $1 }))
                try await publish(logged)
                #expect(try await eventually(timeout: .seconds(15)) {
                    try await escalations().contains { $0.payload["lastActivityAt"] == .string(logged.occurredAt) }
                }, "version \(version) counts as activity")
            }
        }
        #expect(try await fixture.dlq().isEmpty)
    }

    @Test("stale lead: levels 1, 2, 3 escalate in order; an update resets the count; a terminal stage stops it")
    func escalation() async throws {
        let afters: [Int64] = [300, 1000, 1500]
        try await storeDefinition(escalation: [
            EscalationLevel(after: "PT0.3S", action: .notify, to: "owner"),
            EscalationLevel(after: "PT1S", action: .reassign, to: "manager"),
            EscalationLevel(after: "PT1.5S", action: .reassign, to: "director"),
        ])
        let create = try await created("L-5")
        // Two activities in the same millisecond would be one instant to count from; keep them apart.
        let updatedAt = InstantText.rfc3339(milliseconds: try #require(TimerDue.instant(create.occurredAt)) + 50)
        let update = Envelope(type: "lead.updated", kind: .event, tenant: fixture.tenant, actor: "u-17", occurredAt: updatedAt,
                              payload: ["leadId": "L-5", "changes": [], "recordVersion": 2])
        func escalations(_ leadID: String) async throws -> [Envelope] {
            try await events("record.escalated").filter { $0.payload["recordId"] == .string(leadID) }
        }
        try await withService {
            try await publish(create)
            #expect(try await eventually(timeout: .seconds(5), every: .milliseconds(5)) { try await escalations("L-5").count >= 1 })
            try await publish(update)
            #expect(try await eventually(timeout: .seconds(10)) {
                try await escalations("L-5").filter { $0.payload["lastActivityAt"] == .string(update.occurredAt) }.count == 3
            })

            // A lead that is won no longer escalates: its level timers are cancelled.
            try await publish(try await created("L-6"))
            try await storeRecord("L-6", stage: "won")
            try await publish(moved("L-6", from: "new", to: "won"))
            #expect(try await eventually {
                let pending = try await fixture.redis.send("ZRANGE", fixture.shard.timersDue, 0, -1).array?.compactMap(\.string) ?? []
                return !pending.contains { $0.contains("L-6") }
            })
        }
        let all = try await escalations("L-5")
        #expect(all.allSatisfy { $0.payload["subject"] == "lead:L-5" })
        for activity in [create.occurredAt, update.occurredAt] {
            let since = try #require(TimerDue.instant(activity))
            let steps = all.filter { $0.payload["lastActivityAt"] == .string(activity) }
            let levels = steps.compactMap { step -> Int? in if case .integer(let level)? = step.payload["level"] { Int(level) } else { nil } }
            #expect(levels == Array(1...levels.count), "levels in order from 1, counted from \(activity)")
            for (step, level) in zip(steps, levels) {
                let at = try #require(step.payload["escalatedAt"]?.stringValue.flatMap(TimerDue.instant))
                #expect(at >= since + afters[level - 1], "level \(level) never early")
            }
        }
        let reset = all.filter { $0.payload["lastActivityAt"] == .string(update.occurredAt) }
        #expect(reset.map { $0.payload["to"] } == ["owner", "manager", "director"], "the update restarted the count at level 1")
        #expect(reset.map { $0.payload["from"] } == ["owner", "owner", "manager"])
        #expect(reset.map { $0.payload["action"] } == ["notify", "reassign", "reassign"])
        #expect(reset[1].payload["reason"]?.stringValue?.hasPrefix("no activity for PT1S since") == true)
    }

    // FUN-CRM-0286: while the record waits on the customer the clock stops; resuming moves the deadline.
    @Test("pauseWhen: sla.paused cancels the timers; sla.resumed reschedules them with the deadline moved by the paused time")
    func pauseAndResume() async throws {
        try await storeDefinition(sla: [SlaPolicy(stage: "new", name: "first_response", within: "PT30S", pauseWhen: "data.waiting == true")],
                                  fields: [FieldRule(name: "waiting", type: .boolean)])
        let create = try await created("L-8")
        let start = try #require(TimerDue.instant(create.occurredAt))
        func update() -> Envelope {
            Envelope(type: "lead.updated", kind: .event, tenant: fixture.tenant, actor: "u-17", payload: ["leadId": "L-8", "changes": [], "recordVersion": 2])
        }
        let breachMember = "acme:sla:lead:L-8:first_response:breach"
        var pausedAt: Int64 = 0
        var resumedAt: Int64 = 0
        try await withService {
            try await publish(create)
            #expect(try await eventually { try await events("sla.started").count == 1 })
            try await storeRecord("L-8", data: "{\"waiting\":true}")
            let wait = update()
            pausedAt = try #require(TimerDue.instant(wait.occurredAt))
            try await publish(wait)
            #expect(try await eventually { try await events("sla.paused").count == 1 })
            #expect(try await fixture.redis.send("ZCARD", fixture.shard.timersDue).integer == 0, "nothing can fire while paused")
            try await Task.sleep(for: .milliseconds(200))
            try await storeRecord("L-8", data: "{\"waiting\":false}")
            let answer = update()
            resumedAt = try #require(TimerDue.instant(answer.occurredAt))
            try await publish(answer)
            #expect(try await eventually { try await events("sla.resumed").count == 1 })
        }
        let used = pausedAt - start
        let deadline = resumedAt + 30_000 - used
        #expect(try await events("sla.paused").first?.payload["usedMs"] == .integer(used))
        let resumed = try #require(try await events("sla.resumed").first)
        #expect(resumed.payload["deadline"] == .string(InstantText.rfc3339(milliseconds: deadline)), "the rest of the promise from the resume")
        #expect(resumed.payload["atRiskAt"] == .string(InstantText.rfc3339(milliseconds: resumedAt + 24_000 - used)))
        let due = try await fixture.redis.send("ZSCORE", fixture.shard.timersDue, breachMember).string.flatMap(Double.init)
        #expect(due.map { Int64($0) } == deadline, "the breach timer is due at the moved deadline")
        #expect(deadline - (start + 30_000) == resumedAt - pausedAt, "moved by exactly the paused time")
    }
}
