"""The Kubernetes API edge: client configuration, list/watch informers, object trimming."""
