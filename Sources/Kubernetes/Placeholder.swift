enum KubernetesPlaceholder {}
