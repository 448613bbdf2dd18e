import Metrics
import CoreMetrics

/// The counters every service keeps, with fixed dimensions (no ids or tenants as labels).
struct ServiceMetrics: Sendable {
    let handled: Counter
    let deadLettered: Counter
    let retried: Counter
    let claimed: Counter
    let handlingTime: Timer

    init(service: String) {
        let dimensions = [("service", service)]
        handled = Counter(label: "crm_messages_handled_total", dimensions: dimensions)
        deadLettered = Counter(label: "crm_messages_dead_lettered_total", dimensions: dimensions)
        retried = Counter(label: "crm_messages_failed_total", dimensions: dimensions)
        claimed = Counter(label: "crm_messages_claimed_total", dimensions: dimensions)
        handlingTime = Timer(label: "crm_batch_handling_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
    }
}
