internal import SystemSupport

extension RefreshConfig {
    /// Which namespaces an output writes to: by name glob (`*` matches any run of characters; `exclude` wins over
    /// `include`) and by label, with a Kubernetes label selector (`matchLabels`, `matchExpressions`) as a
    /// NetworkPolicy or a webhook's `namespaceSelector` takes it. A namespace is selected when both agree.
    package struct NamespaceSelector: Sendable, Equatable {
        package var include: [String]
        package var exclude: [String]
        package var matchLabels: [String: String]
        package var matchExpressions: [LabelRequirement]

        package init(
            include: [String] = ["*"], exclude: [String] = [], matchLabels: [String: String] = [:],
            matchExpressions: [LabelRequirement] = []
        ) {
            self.include = include
            self.exclude = exclude
            self.matchLabels = matchLabels
            self.matchExpressions = matchExpressions
        }

        /// Whether the namespace `name` with `labels` is selected.
        package func matches(_ name: String, labels: [String: String] = [:]) -> Bool {
            include.contains { Self.glob($0, name) } && !exclude.contains { Self.glob($0, name) }
                && matchLabels.allSatisfy { labels[$0.key] == $0.value }
                && matchExpressions.allSatisfy { $0.matches(labels) }
        }

        /// Whether labels take part in the choice (the names alone do not decide).
        package var usesLabels: Bool { !matchLabels.isEmpty || !matchExpressions.isEmpty }

        static func glob(_ pattern: String, _ text: String) -> Bool { Wildcard.matches(pattern.utf8, text.utf8) }
    }

    /// One `matchExpressions` entry (metav1.LabelSelectorRequirement).
    package struct LabelRequirement: Sendable, Equatable {
        package enum Operator: String, Sendable, CaseIterable {
            case `in` = "In", notIn = "NotIn", exists = "Exists", doesNotExist = "DoesNotExist"
        }
        package var key: String
        package var `operator`: Operator
        package var values: [String]

        package init(key: String, operator: Operator, values: [String] = []) {
            self.key = key
            self.operator = `operator`
            self.values = values
        }

        func matches(_ labels: [String: String]) -> Bool {
            switch `operator` {
            case .in: return labels[key].map(values.contains) ?? false
            case .notIn: return labels[key].map { !values.contains($0) } ?? true
            case .exists: return labels[key] != nil
            case .doesNotExist: return labels[key] == nil
            }
        }
    }
}
