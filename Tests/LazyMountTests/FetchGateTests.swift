import Synchronization
import Testing

@testable import LazyMount

/// The gate a profile's fetches queue at: they go out in the order they were queued whatever order their tasks
/// run in, one a reader needs goes out at once, and closing fails only those still in line.
@Suite struct FetchGateTests {
    final class Order: Sendable {
        let tickets = Mutex<[Int]>([])
        func add(_ ticket: Int) { tickets.withLock { $0.append(ticket) } }
    }

    @Test func fetchesGoOutInTheirQueuedOrderWhicheverAsksFirst() async throws {
        let gate = FetchGate(limit: 1)
        let passes = (0..<3).map { _ in gate.pass() }
        let order = Order()
        // The last two ask before the first: they wait for it, and for each other in turn.
        var later: [Task<Void, any Error>] = []
        for ticket in [2, 1] {
            later.append(
                Task {
                    try await passes[ticket].enter()
                    order.add(ticket)
                    passes[ticket].leave()
                })
            let giveUp = ContinuousClock.now + .seconds(10)
            while gate.inLine < later.count && ContinuousClock.now < giveUp { await Task.yield() }
            try #require(gate.inLine == later.count, "ticket \(ticket) went ahead of ticket 0")
        }
        try await passes[0].enter()
        order.add(0)
        passes[0].leave()
        for task in later { try await task.value }
        #expect(order.tickets.withLock { $0 } == [0, 1, 2])
        #expect(gate.running == 0)
    }

    @Test func aFetchAReaderNeedsGoesOutAtOnceAndClosingFailsOnlyThoseInLine() async throws {
        let gate = FetchGate(limit: 1)
        let first = gate.pass()
        let second = gate.pass()
        let third = gate.pass()
        try await first.enter()
        let waiting = Task { try await second.enter() }
        // The slot is taken and `third` is not next in line: opened, it goes anyway.
        third.open()
        try await third.enter()
        #expect(gate.running == 2)
        third.leave()
        gate.close()
        let outcome = await waiting.result
        // `second` may have been in line or not yet asked: either way it does not go out after the close.
        if case .success = outcome { Issue.record("a fetch went out after the gate closed") }
        first.leave()
        #expect(gate.running == 0)
    }

    @Test func aPlaceGivenUpLetsTheNextGo() async throws {
        let gate = FetchGate(limit: 1)
        let nothingToFetch = gate.pass()
        let next = gate.pass()
        let admitted = Task { try await next.enter() }
        nothingToFetch.withdraw()
        try await admitted.value
        #expect(gate.running == 1)
        next.leave()
    }
}
