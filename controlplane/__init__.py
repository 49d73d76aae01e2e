"""The pyantrea controller: policy computation, versioned stores, the gRPC controlplane API."""
