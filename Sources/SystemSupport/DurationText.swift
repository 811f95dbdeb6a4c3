/// Seconds as a person reads them in a message: `19s`, `4m 10s`, `2h 5m`, `0.5s` — rounded, never
/// `19.459125267592366s`.
package enum DurationText {
    package static func format(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "never" }
        if seconds < 10 && seconds != seconds.rounded() {
            return String(Double((seconds * 10).rounded()) / 10) + "s"
        }
        let total = Int(seconds.rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m" + (total % 60 == 0 ? "" : " \(total % 60)s") }
        return "\(total / 3600)h" + (total % 3600 / 60 == 0 ? "" : " \(total % 3600 / 60)m")
    }
}
