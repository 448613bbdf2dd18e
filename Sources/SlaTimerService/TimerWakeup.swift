import Synchronization

/// Wakes this process's firing loop when this process schedules a timer, so a timer due soon does
/// not wait for the next poll; the poll (`CRM_TIMER_POLL_MS`) only has to catch timers scheduled by
/// other replicas, whose own loops were woken the same way.
public final class TimerWakeup: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    /// A timer was scheduled: the loop looks again at once.
    public func notify() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state = (state.waiter == nil, nil) }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Sleeps for `duration`, or less if `notify()` is called meanwhile (or was since the last sleep).
    func sleep(for duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await self.notified() }
            await group.next()
            group.cancelAll()
            // The waiter resumes itself when cancelled, so the group can finish.
            self.cancelWaiter()
        }
    }

    private func notified() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.pending || Task.isCancelled {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func cancelWaiter() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
