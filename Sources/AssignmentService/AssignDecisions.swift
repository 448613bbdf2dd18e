import Contracts
import CrmCore
import CrmRedis

extension AssignmentCommands {
    /// `assignment.request`: chooses the assignee by the strategy, follows active delegations, and in one
    /// commit records the assignment, moves the round-robin turn and moves the record between queues.
    func assign(_ command: Envelope, shard: ShardKeys, directory: TenantDirectory, byTheSystem: Bool = false) async throws -> CommandDecision {
        let request = try AssignmentPayloads.assignment(command.payload)
        if !byTheSystem { try directory.requireMember(command.actor) }
        let tenant = command.tenant
        let subject = "\(request.entity.rawValue):\(request.id)"
        let assignmentKey = shard.assignment(tenant: tenant, entity: request.entity.rawValue, id: request.id)
        let reads = try await store.fields([
            HashRead(shard.record(tenant: tenant, entity: request.entity.rawValue, id: request.id), ["d"]),
            HashRead(assignmentKey, ["v", "d"]),
        ])
        guard let recordBytes = reads[0][0] else {
            throw Rejection(.notFound, "tenant '\(tenant)' has no \(subject)", field: "payload.subject")
        }
        let record = try CrmStore.decode(PipelineRecord.self, recordBytes)
        let assignmentVersion = CrmStore.integer(reads[1][0])
        let previous = try reads[1][1].map { try CrmStore.decode(RecordAssignment.self, $0) }
        let (delegations, _) = try await delegationList(shard: shard, tenant: tenant)
        let strategy = try await strategy(for: request, record: record, shard: shard, tenant: tenant)
        let users = Array(directory.users.values)

        // The turns and loads the strategy may look at, read in one round trip each.
        let teams = strategy.teamsRead
        let turnReads = try await store.fields(teams.map { HashRead(shard.roundRobin(tenant: tenant, team: $0), ["v"]) })
        let turns = Dictionary(zip(teams, turnReads.map { CrmStore.integer($0[0]) }), uniquingKeysWith: { first, _ in first })
        var loads: [String: Int] = [:]
        if let team = strategy.loadTeam {
            let members = AssignmentRules.pool(team, users: users)
            let counts = try await store.fields(members.map { HashRead(shard.queue(tenant: tenant, user: $0), ["n"]) })
            for (member, count) in zip(members, counts) { loads[member] = CrmStore.integer(count[0]) }
        }
        let now = RFC3339.seconds(command.occurredAt) ?? 0
        let choice: AssignmentChoice
        do {
            choice = try AssignmentRules.choose(strategy, users: users, cursor: { turns[$0] ?? 0 }, loads: loads, record: record, now: now,
                                                entity: request.entity.rawValue, delegations: delegations, actor: command.actor,
                                                allowSelfAssignment: directory.settings.allowSelfAssignment, registry: strategies)
        } catch {
            throw Rejection(error)
        }

        let assignment = RecordAssignment(subject: subject, assignee: choice.assignee, chosen: choice.chosen, strategy: choice.strategy, team: choice.team,
                                          chain: choice.chain, assignedAt: command.occurredAt, assignedBy: command.actor)
        // The dashboard's team of the record: the team the strategy chose from, else the assignee's first team.
        let team = choice.team ?? directory.users[choice.assignee]?.teams.sorted().first
        var writes = [RecordWrite(key: assignmentKey, expectedVersion: assignmentVersion, newVersion: assignmentVersion + 1,
                                  fields: [("d", CrmStore.document(assignment))],
                                  dashboard: .owner(shard: shard, tenant: tenant, subject: subject, owner: choice.assignee, team: team))]
        if let team = choice.team, let cursor = choice.cursor {
            let turn = turns[team] ?? 0
            writes.append(RecordWrite(key: shard.roundRobin(tenant: tenant, team: team), expectedVersion: turn, newVersion: cursor,
                                      fields: [("c", Array(String(cursor).utf8))]))
        }
        writes += try await queueMoves(subject: subject, from: previous?.assignee, to: choice.assignee, at: command.occurredAt, shard: shard, tenant: tenant)
        var payload: [String: JSONValue] = [
            "subject": .string(subject), "assignee": .string(choice.assignee), "chosen": .string(choice.chosen), "strategy": .string(choice.strategy),
            "delegationChain": .array(choice.chain.map(JSONValue.string)), "assignmentVersion": .integer(Int64(assignmentVersion + 1)),
        ]
        if let team = choice.team { payload["team"] = .string(team) }
        if let previous { payload["previousAssignee"] = .string(previous.assignee) }
        let event = command.event(type: MessageType.recordAssigned, payload: .object(payload))
        return CommandDecision(writes: writes, events: [event],
                               outcome: CommandOutcome.accepted(command, events: [event], recordID: request.id, recordVersion: assignmentVersion + 1))
    }

    /// A breach or escalation that asks to reassign its record (`sla.breached` actions, a
    /// `record.escalated` level with action `reassign`): round-robin within the team named `to`. The
    /// reassignment is caused by the event and answers nobody; a team with no active user leaves the
    /// record where it is.
    func react(_ event: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let nothing = CommandDecision(writes: [], events: [], outcome: nil)
        guard let subject = event.payload["subject"]?.stringValue else { return nothing }
        var teams: [String] = []
        if event.type == MessageType.slaBreached {
            teams = (event.payload["actions"]?.arrayValue ?? []).filter { $0["action"]?.stringValue == "reassign" }.compactMap { $0["to"]?.stringValue }
        } else if event.payload["action"]?.stringValue == "reassign", let to = event.payload["to"]?.stringValue {
            teams = [to]
        }
        guard let team = teams.first else { return nothing }
        let directory = try await TenantDirectory.read(store, shard: shard, tenant: event.tenant)
        guard !AssignmentRules.pool(team, users: Array(directory.users.values)).isEmpty else { return nothing }
        // The assignment decided as if requested, under the event's id: a redelivered event is a replay.
        let request = Envelope(id: event.id, type: MessageType.assignmentRequest, kind: .command, tenant: event.tenant, actor: event.actor,
                               correlationId: event.correlationId, causationId: event.causationId, occurredAt: event.occurredAt,
                               payload: ["subject": .string(subject), "strategy": "round_robin", "team": .string(team)])
        do {
            let decision = try await assign(request, shard: shard, directory: directory, byTheSystem: true)
            return CommandDecision(writes: decision.writes, events: decision.events, outcome: nil)
        } catch is Rejection {
            return nothing
        }
    }

    /// Moves a record from the previous assignee's queue to the new one's, keeping each queue's open count.
    private func queueMoves(subject: String, from previous: String?, to assignee: String, at time: String,
                            shard: ShardKeys, tenant: String) async throws -> [RecordWrite] {
        let field = "r:\(subject)"
        let users = [assignee] + (previous.map { $0 == assignee ? [] : [$0] } ?? [])
        let reads = try await store.fields(users.map { HashRead(shard.queue(tenant: tenant, user: $0), ["v", "n", field]) })
        var writes: [RecordWrite] = []
        for (user, read) in zip(users, reads) {
            let version = CrmStore.integer(read[0])
            let open = CrmStore.integer(read[1])
            let entry = try read[2].flatMap { $0.isEmpty ? nil : try CrmStore.decode(QueueEntry.self, $0) }
            let wasOpen = entry?.open == true
            if user == assignee {
                let count = open + (wasOpen ? 0 : 1)
                writes.append(RecordWrite(key: shard.queue(tenant: tenant, user: user), expectedVersion: version, newVersion: version + 1,
                                          fields: [("n", Array(String(count).utf8)), (field, CrmStore.document(QueueEntry(subject: subject, assignedAt: time)))]))
            } else if entry != nil {
                // Removed from the queue: an empty value, as a field cannot be deleted by a commit.
                let count = max(0, open - (wasOpen ? 1 : 0))
                writes.append(RecordWrite(key: shard.queue(tenant: tenant, user: user), expectedVersion: version, newVersion: version + 1,
                                          fields: [("n", Array(String(count).utf8)), (field, [])]))
            }
        }
        return writes
    }

    /// The strategy a request names; rule expressions are compiled against the record's definition.
    private func strategy(for request: AssignmentPayloads.AssignmentRequest, record: PipelineRecord, shard: ShardKeys,
                          tenant: String) async throws -> AssignmentStrategy {
        switch request.strategy {
        case "round_robin": return .roundRobin(team: request.team!)
        case "least_loaded": return .leastLoaded(team: request.team!)
        case "manual": return .manual(user: request.assignee!)
        case "rule":
            let definition = try await store.definition(shard: shard, tenant: tenant, entity: request.entity, version: record.definitionVersion)
            let schema = definition?.source.expressionSchema ?? ExpressionSchema(["stage": .string, "version": .number])
            var rules: [TerritoryRule] = []
            for (index, rule) in request.rules.enumerated() {
                do {
                    rules.append(TerritoryRule(when: try CompiledExpression.compile(rule.when, schema: schema), team: rule.team))
                } catch {
                    throw Rejection(.invalidPayload, "\(error)", field: "payload.rules[\(index)].when")
                }
            }
            return .rule(rules, fallback: request.fallbackTeam!)
        default:
            guard strategies.strategies[request.strategy] != nil else {
                throw Rejection(.invalidPayload, "no strategy '\(request.strategy)': round_robin, least_loaded, manual, rule or a registered one",
                                field: "payload.strategy")
            }
            return .custom(name: request.strategy, team: request.team!)
        }
    }

    /// The tenant's delegations and the hash's version.
    func delegationList(shard: ShardKeys, tenant: String) async throws -> ([Delegation], version: Int) {
        let fields = try await store.hash(shard.delegations(tenant: tenant))
        let delegations = try fields.filter { $0.key.hasPrefix("g:") }.map { try CrmStore.decode(Delegation.self, $0.value) }.sorted { $0.id < $1.id }
        return (delegations, CrmStore.integer(fields["v"]))
    }
}

extension AssignmentStrategy {
    /// Teams whose round-robin turn the strategy may take.
    var teamsRead: [String] {
        switch self {
        case .roundRobin(let team): return [team]
        case .rule(let rules, let fallback): return Array(Set(rules.map(\.team) + [fallback])).sorted()
        default: return []
        }
    }

    /// The team whose loads the strategy looks at.
    var loadTeam: String? {
        switch self {
        case .leastLoaded(let team), .custom(_, let team): return team
        default: return nil
        }
    }
}
