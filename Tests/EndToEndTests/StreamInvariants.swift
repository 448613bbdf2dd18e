import Contracts

/// What the fault suites (chaos, cluster) check on one tenant's events stream.
enum StreamInvariants {
    /// How many outcomes (`command.accepted` or `command.rejected`) each command id got.
    static func outcomeCounts(_ events: [Envelope]) -> [String: Int] {
        var counts: [String: Int] = [:]
        for event in events where event.type == "command.accepted" || event.type == "command.rejected" {
            if let cause = event.causationId { counts[cause, default: 0] += 1 }
        }
        return counts
    }

    /// Effects that must happen once per cause, each one seen twice or more as a violation line.
    static func repeatedEffects(_ events: [Envelope], tenant: String) -> [String] {
        let keys: [(type: String, key: (Envelope) -> String?)] = [
            ("lead.created", { $0.payload["leadId"]?.stringValue }),
            ("gateway.joined", { $0.payload["leadId"]?.stringValue }),
            ("branch.completed", { "\($0.payload["leadId"]?.stringValue ?? "")/\($0.payload["branch"]?.stringValue ?? "")" }),
            ("record.assigned", { $0.causationId }),
            ("timer.fired", { $0.payload["timerId"]?.stringValue }),
            ("integration.succeeded", { $0.payload["callId"]?.stringValue }),
        ]
        var violations: [String] = []
        for (type, key) in keys {
            var seen: [String: Int] = [:]
            for event in events where event.type == type { if let key = key(event) { seen[key, default: 0] += 1 } }
            for (key, count) in seen.sorted(by: { $0.key < $1.key }) where count > 1 { violations.append("\(tenant) \(type) \(key) × \(count)") }
        }
        return violations
    }
}
