"""Pod networking on the node: the interface store and the attachment of pod ports to br-int."""
