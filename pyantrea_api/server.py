"""How agents know the controller's API server: the TLS name its certificate is verified under."""

SERVER_NAME = "pyantrea.kube-system.svc"
"""The name agents verify the controller's certificate against, whatever address they dial."""
