enum RefreshPlaceholder {}
