extension ClusterRouter {
    typealias StreamBatch = [(stream: String, entries: [StreamEntry])]

    /// `XREADGROUP` over streams of many slots. A cluster refuses a multi-key command across slots,
    /// so there is one read per slot: first all of them without blocking (one pipeline per node);
    /// when nothing is new, a blocking read per slot runs in the background, each on its own
    /// connection, and this returns as soon as any of them returns. A read still blocking then is
    /// kept and its entries are returned by a later call, so an idle shard never delays a busy one.
    func readGroup(group: String, consumer: String, streams: [String], count: Int, block: Duration?, startID: String) async throws -> StreamBatch {
        var bySlot: [Int: [String]] = [:]
        var slots: [Int] = []
        for stream in streams {
            let slot = ClusterSlot.slot(of: stream)
            if bySlot[slot] == nil { slots.append(slot) }
            bySlot[slot, default: []].append(stream)
        }
        func read(_ slot: Int, block: Duration?) -> RedisCommand {
            StreamCommands.xreadgroup(group: group, consumer: consumer, streams: bySlot[slot]!, count: count, block: block, startID: startID)
        }
        func sweep(_ slots: [Int]) async throws -> StreamBatch {
            guard !slots.isEmpty else { return [] }
            return try await pipeline(slots.map { read($0, block: nil) }).flatMap { reply throws in
                if case .error(let message) = reply { throw RedisError.fromReply(message) }
                return try StreamCommands.parseRead(reply, command: "XREADGROUP")
            }
        }
        guard let block, startID == ">" else { return try await sweep(slots) }

        let lanes = slots.map { (slot: $0, lane: "\(group)|\(consumer)|\(bySlot[$0]!.joined(separator: ","))") }
        let laneNames = Set(lanes.map(\.lane))
        var results = try Self.collect(await blockingReads.takeFinished(laneNames))
        if results.contains(where: { !$0.entries.isEmpty }) { return results }
        let inFlight = await blockingReads.inFlight
        let swept = try await sweep(lanes.filter { !inFlight.contains($0.lane) }.map(\.slot))
        if swept.contains(where: { !$0.entries.isEmpty }) { return results + swept }
        for (slot, lane) in lanes {
            let command = read(slot, block: block)
            await blockingReads.start(lane) {
                let reply: RedisValue
                do {
                    reply = try await self.execute([command], slot: slot, name: "XREADGROUP", lane: lane)[0]
                } catch let error as RedisError where Self.endsBlockingRead(error) {
                    // The node went away while the read blocked. Anything it had delivered stays
                    // pending and is claimed later; the next read goes where the new map says.
                    try? await self.topology.refresh(force: true)
                    return []
                }
                // The stream moved to another node (a resharding) while the read blocked.
                if case .error(let message) = reply, message.hasPrefix("UNBLOCKED") {
                    try? await self.topology.refresh(force: true)
                    return []
                }
                if case .error(let message) = reply { throw RedisError.fromReply(message) }
                return try StreamCommands.parseRead(reply, command: "XREADGROUP")
            }
        }
        results += try Self.collect(await blockingReads.waitForAny(laneNames))
        return results
    }

    private static func collect(_ finished: [Result<StreamBatch, any Error>]) throws -> StreamBatch {
        var batch: StreamBatch = []
        var failure: (any Error)?
        for result in finished {
            switch result {
            case .success(let entries): batch += entries
            case .failure(let error): failure = failure ?? error
            }
        }
        if let failure, !batch.contains(where: { !$0.entries.isEmpty }) { throw failure }
        return batch
    }

    /// A blocking read cut off by its node (killed, failed over): like a timeout for the reader.
    static func endsBlockingRead(_ error: RedisError) -> Bool {
        switch error {
        case .connectionLost, .timeout: return true
        default: return false
        }
    }
}

/// The background blocking reads of one cluster connection and the results they left, by lane (a
/// group, consumer and slot), so a call only takes what was read for its own group and consumer.
actor ClusterBlockingReads {
    private(set) var inFlight: Set<String> = []
    private var finished: [(lane: String, result: Result<ClusterRouter.StreamBatch, any Error>)] = []
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Starts `read` under `lane` unless a read of that lane is still running.
    func start(_ lane: String, _ read: @escaping @Sendable () async throws -> ClusterRouter.StreamBatch) {
        guard inFlight.insert(lane).inserted else { return }
        Task {
            let result: Result<ClusterRouter.StreamBatch, any Error>
            do { result = .success(try await read()) } catch { result = .failure(error) }
            self.finish(lane, result)
        }
    }

    private func finish(_ lane: String, _ result: Result<ClusterRouter.StreamBatch, any Error>) {
        inFlight.remove(lane)
        finished.append((lane, result))
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    /// What finished in `lanes`, taken out.
    func takeFinished(_ lanes: Set<String>) -> [Result<ClusterRouter.StreamBatch, any Error>] {
        let mine = finished.filter { lanes.contains($0.lane) }.map(\.result)
        finished.removeAll { lanes.contains($0.lane) }
        return mine
    }

    /// Waits until a read of `lanes` finishes (at once when one already has) and takes what finished.
    func waitForAny(_ lanes: Set<String>) async -> [Result<ClusterRouter.StreamBatch, any Error>] {
        while !finished.contains(where: { lanes.contains($0.lane) }), !inFlight.isDisjoint(with: lanes) {
            await withCheckedContinuation { waiters.append($0) }
        }
        return takeFinished(lanes)
    }
}
