internal import Synchronization

/// Lets at most `limit` of a start-up profile's fetches be on the wire at once, started in the order they were
/// queued (the order the container needs them), while every one of them is registered with the chunk cache from
/// mount time: a reader who needs a span still in line joins its fetch and opens the gate for it at once, so a
/// read waits only for bytes in flight, never for a place in line nor for a second request.
final class FetchGate: Sendable {
    /// One queued fetch's place in line.
    struct Pass: Sendable {
        let gate: FetchGate
        let ticket: Int

        /// Waits for the turn; throws when the gate closed first (the mount is going away).
        func enter() async throws(LazyMountError) { try await gate.enter(ticket) }
        /// Lets this fetch start now, whatever its place (a reader is waiting for it).
        func open() { gate.open(ticket) }
        /// Gives the slot to the next in line.
        func leave() { gate.leave() }
        /// Gives up the place before entering (nothing was left to fetch).
        func withdraw() { gate.withdraw(ticket) }
    }

    private struct State {
        var running = 0
        var issued = 0
        /// The lowest ticket neither started nor withdrawn: only it may take a free slot.
        var nextInLine = 0
        /// Tickets above `nextInLine` that started (opened by a reader) or were withdrawn.
        var done: Set<Int> = []
        /// Opened before they asked to enter.
        var opened: Set<Int> = []
        var waiting: [Int: CheckedContinuation<Bool, Never>] = [:]
        var closed = false
    }

    let limit: Int
    private let state = Mutex(State())

    init(limit: Int) { self.limit = max(1, limit) }

    /// The next place in line.
    func pass() -> Pass {
        Pass(
            gate: self,
            ticket: state.withLock { state in
                defer { state.issued += 1 }
                return state.issued
            })
    }

    /// Fails every fetch still in line; those on the wire finish.
    func close() {
        let waiting = state.withLock { state in
            state.closed = true
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume(returning: false) }
    }

    /// How many of the queued fetches are on the wire now.
    var running: Int { state.withLock { $0.running } }

    /// How many wait for their turn.
    var inLine: Int { state.withLock { $0.waiting.count } }

    private func enter(_ ticket: Int) async throws(LazyMountError) {
        let admitted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let (now, others): (Bool?, [CheckedContinuation<Bool, Never>]) = state.withLock { state in
                if state.closed { return (false, []) }
                if state.opened.remove(ticket) != nil || (ticket == state.nextInLine && state.running < limit) {
                    Self.start(ticket, in: &state)
                    return (true, Self.admit(&state, limit: limit))
                }
                state.waiting[ticket] = continuation
                return (nil, [])
            }
            if let now { continuation.resume(returning: now) }
            for other in others { other.resume(returning: true) }
        }
        guard admitted else { throw .outOfRange("the start-up profile's playback ended before this fetch began") }
    }

    private func open(_ ticket: Int) {
        let continuation: CheckedContinuation<Bool, Never>? = state.withLock { state in
            guard !state.closed, ticket >= state.nextInLine, !state.done.contains(ticket) else { return nil }
            guard let continuation = state.waiting.removeValue(forKey: ticket) else {
                state.opened.insert(ticket)
                return nil
            }
            Self.start(ticket, in: &state)
            return continuation
        }
        continuation?.resume(returning: true)
    }

    private func leave() {
        let next = state.withLock { state in
            state.running -= 1
            return Self.admit(&state, limit: limit)
        }
        for continuation in next { continuation.resume(returning: true) }
    }

    private func withdraw(_ ticket: Int) {
        let next = state.withLock { state in
            state.opened.remove(ticket)
            Self.retire(ticket, in: &state)
            return Self.admit(&state, limit: limit)
        }
        for continuation in next { continuation.resume(returning: true) }
    }

    private static func start(_ ticket: Int, in state: inout State) {
        state.running += 1
        retire(ticket, in: &state)
    }

    private static func retire(_ ticket: Int, in state: inout State) {
        state.done.insert(ticket)
        while state.done.remove(state.nextInLine) != nil { state.nextInLine += 1 }
    }

    /// Those next in line, started, while a slot is free and the next is already waiting.
    private static func admit(_ state: inout State, limit: Int) -> [CheckedContinuation<Bool, Never>] {
        var admitted: [CheckedContinuation<Bool, Never>] = []
        while !state.closed, state.running < limit,
            let continuation = state.waiting.removeValue(forKey: state.nextInLine)
        {
            start(state.nextInLine, in: &state)
            admitted.append(continuation)
        }
        return admitted
    }
}
