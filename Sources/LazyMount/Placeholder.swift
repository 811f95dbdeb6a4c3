enum LazyMountPlaceholder {}
