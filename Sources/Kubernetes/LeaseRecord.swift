internal import Credentials
package import FoundationEssentials
internal import SystemSupport

/// The fields of a `coordination.k8s.io/v1` Lease's `spec` that leader election reads and writes, as
/// client-go's `resourcelock.LeaseLock` maps them (`LeaderElectionRecord`).
package struct LeaseRecord: Sendable, Equatable {
    package var holderIdentity: String
    package var leaseDurationSeconds: Int
    package var acquireTime: Date?
    package var renewTime: Date?
    package var leaseTransitions: Int

    package init(
        holderIdentity: String, leaseDurationSeconds: Int, acquireTime: Date? = nil, renewTime: Date? = nil,
        leaseTransitions: Int = 0
    ) {
        self.holderIdentity = holderIdentity
        self.leaseDurationSeconds = leaseDurationSeconds
        self.acquireTime = acquireTime
        self.renewTime = renewTime
        self.leaseTransitions = leaseTransitions
    }

    init(spec: [String: JSONValue]) {
        holderIdentity = spec["holderIdentity"]?.stringValue ?? ""
        leaseDurationSeconds = spec["leaseDurationSeconds"].flatMap(Self.integer) ?? 0
        acquireTime = spec["acquireTime"]?.stringValue.flatMap(MicroTime.parse)
        renewTime = spec["renewTime"]?.stringValue.flatMap(MicroTime.parse)
        leaseTransitions = spec["leaseTransitions"].flatMap(Self.integer) ?? 0
    }

    /// The spec as JSON; absent times are omitted (the API server would refuse `null` only for non-pointers,
    /// but omission is what client-go sends).
    var spec: [String: JSONValue] {
        var spec: [String: JSONValue] = [
            "holderIdentity": .string(holderIdentity), "leaseDurationSeconds": .integer(Int64(leaseDurationSeconds)),
            "leaseTransitions": .integer(Int64(leaseTransitions)),
        ]
        if let acquireTime { spec["acquireTime"] = .string(MicroTime.format(acquireTime)) }
        if let renewTime { spec["renewTime"] = .string(MicroTime.format(renewTime)) }
        return spec
    }

    private static func integer(_ value: JSONValue) -> Int? {
        switch value {
        case .integer(let number): return Int(exactly: number)
        case .number(let number): return Int(exactly: number)
        default: return nil
        }
    }
}
