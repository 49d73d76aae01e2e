"""The pyantrea-cni plugin executable and its install step."""
