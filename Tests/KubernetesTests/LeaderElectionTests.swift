import Foundation
import Testing

@testable import Kubernetes

/// Two candidates for one Lease on the fixture API server, each with its own hand-moved clock.
@Suite struct LeaderElectionTests {
    @Test func theStandbyTakesOverOnlyAfterTheLeaderStopsRenewingForALeaseDuration() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let clockA = ManualClock(), clockB = ManualClock(Date(timeIntervalSince1970: 1_750_000_333))
        let a = LeaderElector(
            client: fixture.client(now: clockA.now), namespace: "ocicred", name: "refresh", identity: "pod-a",
            leaseDuration: .seconds(15), now: clockA.now)
        let b = LeaderElector(
            client: fixture.client(now: clockB.now), namespace: "ocicred", name: "refresh", identity: "pod-b",
            leaseDuration: .seconds(15), now: clockB.now)

        #expect(try await a.tryAcquireOrRenew())
        #expect(await a.isLeader)
        #expect(try await !b.tryAcquireOrRenew())
        clockA.advance(10); clockB.advance(10)
        #expect(try await a.tryAcquireOrRenew())  // renewed: B saw the record change and restarts its wait
        clockB.advance(10)
        #expect(try await !b.tryAcquireOrRenew())  // sees the renewal now: its 15 s count from here
        // A stops renewing (crashed, partitioned). B waits a full lease duration from its last observation.
        clockB.advance(14)
        #expect(try await !b.tryAcquireOrRenew())
        clockB.advance(2)
        #expect(try await b.tryAcquireOrRenew())
        #expect(await b.isLeader)

        let lease = try #require(try await fixture.object("leases", "ocicred", "refresh"))
        let spec = try #require(lease["spec"] as? [String: Any])
        #expect(spec["holderIdentity"] as? String == "pod-b")
        #expect(spec["leaseDurationSeconds"] as? Int == 15)
        #expect(spec["leaseTransitions"] as? Int == 1)
        let renew = try #require(spec["renewTime"] as? String)
        #expect(renew.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/) != nil, "\(renew)")

        // The old leader comes back: it sees B's lease, does not fight, and knows it no longer leads.
        clockA.advance(30)
        #expect(try await !a.tryAcquireOrRenew())
        #expect(await !a.isLeader)
    }

    @Test func aReleasedLeaseIsTakenAtOnce() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let clock = ManualClock()
        let a = LeaderElector(client: fixture.client(), namespace: "ocicred", name: "l", identity: "a", now: clock.now)
        let b = LeaderElector(client: fixture.client(), namespace: "ocicred", name: "l", identity: "b", now: clock.now)
        #expect(try await a.tryAcquireOrRenew())
        #expect(try await !b.tryAcquireOrRenew())
        try await a.release()
        #expect(await !a.isLeader)
        #expect(try await b.tryAcquireOrRenew())
    }

    /// Two replicas race for the Lease through the fixture, every round at the same moment and each judging the
    /// other's lease expired (their clocks jump past the duration between rounds): the fixture's resourceVersion
    /// precondition lets exactly one update win each round, so there is never a moment with two writers.
    @Test func twoReplicasRacingForTheLeaseNeverBothLead() async throws {
        let fixture = try KubeAPIFixture()
        defer { fixture.stop() }
        let clockA = ManualClock(), clockB = ManualClock()
        let a = LeaderElector(
            client: fixture.client(now: clockA.now), namespace: "ocicred", name: "race", identity: "a",
            leaseDuration: .seconds(5), now: clockA.now)
        let b = LeaderElector(
            client: fixture.client(now: clockB.now), namespace: "ocicred", name: "race", identity: "b",
            leaseDuration: .seconds(5), now: clockB.now)
        var winners = [String]()
        for round in 1...20 {
            async let wonA = a.tryAcquireOrRenew()
            async let wonB = b.tryAcquireOrRenew()
            let (ra, rb) = try await (wonA, wonB)
            #expect(!(ra && rb), "round \(round): both replicas won")
            let (leadsA, leadsB) = (await a.isLeader, await b.isLeader)
            #expect(!(leadsA && leadsB), "round \(round): both believe they lead")
            if ra { winners.append("a") }
            if rb { winners.append("b") }
            clockA.advance(6)
            clockB.advance(6)
        }
        #expect(winners.count >= 10, "the Lease was mostly held: \(winners)")
        let lease = try #require(try await fixture.object("leases", "ocicred", "race"))
        let spec = try #require(lease["spec"] as? [String: Any])
        #expect(spec["holderIdentity"] as? String == winners.last)
        let changes = zip(winners, winners.dropFirst()).filter { $0 != $1 }.count
        #expect(spec["leaseTransitions"] as? Int ?? -1 >= changes, "\(winners)")
    }

    @Test func microTimeHasExactlySixFractionalDigitsAndRoundTrips() throws {
        let date = Date(timeIntervalSince1970: 1_750_000_000.123456)
        let text = MicroTime.format(date)
        #expect(text == "2025-06-15T15:06:40.123456Z")
        #expect(MicroTime.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
        let parsed = try #require(MicroTime.parse(text))
        #expect(abs(parsed.timeIntervalSince1970 - date.timeIntervalSince1970) < 1e-6)
        #expect(MicroTime.parse("2025-06-15T17:06:40.5+02:00")?.timeIntervalSince1970 == 1_750_000_000.5)
        #expect(MicroTime.parse("2024-02-29T00:00:00Z")?.timeIntervalSince1970 == 1_709_164_800)
        #expect(MicroTime.parse("2024-02-29 00:00:00Z") == nil)
    }
}
