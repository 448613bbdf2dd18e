import Contracts
import CrmCore

/// Reads assignment-service's command payloads strictly (contracts/v1), naming the offending field.
enum AssignmentPayloads {
    static func user(_ payload: JSONValue) throws(Rejection) -> DirectoryUser {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["userId", "roles", "name", "active", "teams"])
            return DirectoryUser(
                userId: try reader.string("userId", maxLength: 128, rule: Identifier.isActor, expected: "a user id"),
                roles: Array(Set(try reader.strings("roles", maxCount: 32, rule: Names.isValid, expected: "a role name"))).sorted(),
                name: try reader.optionalString("name", maxLength: 200),
                active: try reader.optionalBool("active") ?? true,
                teams: Array(Set(try reader.strings("teams", required: false, maxCount: 32, rule: Names.isValid, expected: "a team name"))).sorted())
        } catch {
            throw Rejection(error)
        }
    }

    static func apiKey(_ payload: JSONValue) throws(Rejection) -> (hash: String, userID: String, name: String, active: Bool) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["keyHash", "userId", "name", "active"])
            let hash = try reader.string("keyHash", maxLength: 64, rule: { $0.utf8.count == 64 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } },
                                         expected: "the key's SHA-256 as 64 lower-case hex digits")
            return (hash, try reader.string("userId", maxLength: 128, rule: Identifier.isActor, expected: "a user id"),
                    try reader.optionalString("name", maxLength: 100) ?? "", try reader.optionalBool("active") ?? true)
        } catch {
            throw Rejection(error)
        }
    }

    static func settings(_ payload: JSONValue) throws(Rejection) -> (selfAssignment: Bool?, selfApproval: Bool?) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["allowSelfAssignment", "allowSelfApproval"])
            return (try reader.optionalBool("allowSelfAssignment"), try reader.optionalBool("allowSelfApproval"))
        } catch {
            throw Rejection(error)
        }
    }

    /// `lead:<id>` or `opportunity:<id>`, split.
    static func subject(_ reader: PayloadReader) throws(PayloadError) -> (entity: EntityKind, id: String) {
        let text = try reader.string("subject", maxLength: 200, rule: { text in
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            return parts.count == 2 && EntityKind(rawValue: parts[0]) != nil && Identifier.isMessageID(parts[1])
        }, expected: "'lead:<id>' or 'opportunity:<id>'")
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        return (EntityKind(rawValue: parts[0])!, parts[1])
    }

    struct AssignmentRequest {
        let entity: EntityKind
        let id: String
        let strategy: String
        let team: String?
        let assignee: String?
        let rules: [(when: String, team: String)]
        let fallbackTeam: String?
    }

    static func assignment(_ payload: JSONValue) throws(Rejection) -> AssignmentRequest {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["subject", "strategy", "team", "assignee", "rules", "fallbackTeam"])
            let (entity, id) = try subject(reader)
            let strategy = try reader.string("strategy", maxLength: 63, rule: Names.isValid, expected: "round_robin, least_loaded, manual, rule or a registered strategy")
            let team = try reader.optionalString("team", maxLength: 63, rule: Names.isValid, expected: "a team name")
            let assignee = try reader.optionalString("assignee", maxLength: 128, rule: Identifier.isActor, expected: "a user id")
            var rules: [(String, String)] = []
            for rule in try reader.objects("rules", required: false, maxCount: 32) {
                try rule.allowOnly(["when", "team"])
                rules.append((try rule.string("when", maxLength: 1000), try rule.string("team", maxLength: 63, rule: Names.isValid, expected: "a team name")))
            }
            let fallback = try reader.optionalString("fallbackTeam", maxLength: 63, rule: Names.isValid, expected: "a team name")
            switch strategy {
            case "manual" where assignee == nil: throw PayloadError(field: reader.at("assignee"), reason: "is required by the manual strategy")
            case "rule" where rules.isEmpty: throw PayloadError(field: reader.at("rules"), reason: "is required by the rule strategy")
            case "rule" where fallback == nil: throw PayloadError(field: reader.at("fallbackTeam"), reason: "is required by the rule strategy")
            case "manual", "rule": break
            default: if team == nil { throw PayloadError(field: reader.at("team"), reason: "is required by the \(strategy) strategy") }
            }
            return AssignmentRequest(entity: entity, id: id, strategy: strategy, team: team, assignee: assignee, rules: rules, fallbackTeam: fallback)
        } catch {
            throw Rejection(error)
        }
    }

    struct DelegationRequest {
        let id: String
        let delegator: String
        let delegatee: String
        let from: String
        let until: String
        let starts: Double
        let ends: Double
        let scope: [String]
    }

    static func delegation(_ payload: JSONValue) throws(Rejection) -> DelegationRequest {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["delegationId", "delegator", "delegatee", "from", "until", "scope"])
            let id = try reader.string("delegationId", maxLength: 128, rule: Identifier.isMessageID, expected: "an id")
            let delegator = try reader.string("delegator", maxLength: 128, rule: Identifier.isActor, expected: "a user id")
            let delegatee = try reader.string("delegatee", maxLength: 128, rule: Identifier.isActor, expected: "a user id")
            let rfc = "an RFC 3339 time with its offset, e.g. 2026-12-01T09:00:00+01:00"
            let from = try reader.string("from", maxLength: 40, rule: { RFC3339.instant($0) != nil }, expected: rfc)
            let until = try reader.string("until", maxLength: 40, rule: { RFC3339.instant($0) != nil }, expected: rfc)
            let scope = try reader.strings("scope", required: false, maxCount: 2, rule: { EntityKind(rawValue: $0) != nil }, expected: "'lead' or 'opportunity'")
            return DelegationRequest(id: id, delegator: delegator, delegatee: delegatee, from: from, until: until,
                                     starts: RFC3339.instant(from)!, ends: RFC3339.instant(until)!, scope: Array(Set(scope)).sorted())
        } catch {
            throw Rejection(error)
        }
    }

    static func delegationID(_ payload: JSONValue) throws(Rejection) -> String {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["delegationId"])
            return try reader.string("delegationId", maxLength: 128, rule: Identifier.isMessageID, expected: "an id")
        } catch {
            throw Rejection(error)
        }
    }

    struct ApprovalRequest {
        let id: String
        let entity: EntityKind
        let recordID: String
        let action: String
        let approvers: [String]
        let strategy: ApprovalStrategy
    }

    static func approval(_ payload: JSONValue) throws(Rejection) -> ApprovalRequest {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["approvalId", "subject", "action", "approvers", "strategy", "quorum", "weights", "requiredWeight"])
            let id = try reader.string("approvalId", maxLength: 128, rule: Identifier.isMessageID, expected: "an id")
            let (entity, recordID) = try subject(reader)
            let action = try reader.string("action", maxLength: 63, rule: Names.isValid, expected: "an action name")
            let approvers = try reader.strings("approvers", maxCount: 50, rule: Identifier.isActor, expected: "a user id")
            let name = try reader.string("strategy", maxLength: 63, rule: Names.isValid, expected: "unison, majority, quorum, first_response, weighted or a registered rule")
            let strategy: ApprovalStrategy
            switch name {
            case "unison": strategy = .unison
            case "majority": strategy = .majority
            case "first_response": strategy = .firstResponse
            case "quorum":
                guard let k = try reader.optionalInt("quorum", range: 1...50) else { throw PayloadError(field: reader.at("quorum"), reason: "is required by the quorum strategy") }
                strategy = .quorum(k)
            case "weighted":
                guard let object = try reader.optionalObject("weights") else { throw PayloadError(field: reader.at("weights"), reason: "is required by the weighted strategy") }
                var weights: [String: Double] = [:]
                for (user, value) in object.fields {
                    guard Identifier.isActor(user), let weight = value.doubleValue else { throw PayloadError(field: object.at(user), reason: "must be a number for a user id") }
                    weights[user] = weight
                }
                guard let required = try reader.optionalNumber("requiredWeight") else {
                    throw PayloadError(field: reader.at("requiredWeight"), reason: "is required by the weighted strategy")
                }
                strategy = .weighted(weights: weights, required: required)
            default: strategy = .custom(name)
            }
            return ApprovalRequest(id: id, entity: entity, recordID: recordID, action: action, approvers: approvers, strategy: strategy)
        } catch {
            throw Rejection(error)
        }
    }

    static func vote(_ payload: JSONValue) throws(Rejection) -> (id: String, vote: Vote, comment: String?, onBehalfOf: String?) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["approvalId", "vote", "comment", "onBehalfOf"])
            let id = try reader.string("approvalId", maxLength: 128, rule: Identifier.isMessageID, expected: "an id")
            let vote = try reader.string("vote", maxLength: 10, rule: { Vote(rawValue: $0) != nil }, expected: "approve, reject or abstain")
            return (id, Vote(rawValue: vote)!, try reader.optionalString("comment", maxLength: 2000),
                    try reader.optionalString("onBehalfOf", maxLength: 128, rule: Identifier.isActor, expected: "a user id"))
        } catch {
            throw Rejection(error)
        }
    }
}
