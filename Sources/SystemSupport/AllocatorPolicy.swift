internal import Glibc

/// How the C allocator serves a process that lives for days.
///
/// glibc gives each thread that allocates an arena of its own (up to eight per core) and keeps each arena's
/// high-water mark: a long-lived process whose work hops between NIO's loop, the concurrency pool and curl's
/// threads ends up holding several partly used heaps. The refresh controller allocates little and rarely at once,
/// so two arenas cost it no contention and megabytes less resident memory (helpers/bench-controller measures
/// it). Command-line runs keep glibc's defaults: they exit in milliseconds.
package enum AllocatorPolicy {
    /// `mallopt(3)` lives in <malloc.h>, which the Glibc module does not carry; it is looked up instead.
    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    /// <malloc.h>'s `M_ARENA_MAX`.
    private static let arenaMaximum: Int32 = -8

    /// Limits the allocator to `arenas` arenas for the rest of the process; false when glibc refuses (or, built
    /// against another C library, has no `mallopt`).
    @discardableResult
    package static func limitArenas(to arenas: Int) -> Bool {
        guard let symbol = dlsym(nil, "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        return mallopt(arenaMaximum, Int32(clamping: arenas)) == 1
    }
}
