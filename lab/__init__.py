"""The lab: a whole pyantrea cluster on one Linux machine (nodes are network namespaces)."""
