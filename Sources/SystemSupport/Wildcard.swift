/// `*` globs (any run of characters, possibly empty; nothing else is special), matched in time linear in
/// pattern × text: the greedy algorithm with one backtrack point, not recursion, so a pattern of many `*`s
/// cannot make a match take exponential time. Used for config host patterns and namespace selectors.
package enum Wildcard {
    package static func matches(_ pattern: some Collection<UInt8>, _ text: some Collection<UInt8>) -> Bool {
        let p = Array(pattern), t = Array(text)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] != UInt8(ascii: "*"), p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}
