"""The lab's stand-in for kube-apiserver: a small, real Kubernetes API endpoint over HTTP.

It serves core/v1 namespaces, pods, nodes, services and endpoints and networking.k8s.io/v1
networkpolicies with the verbs and semantics pyantrea relies on (list with selectors, watch
with resourceVersion, bookmarks and 410 Gone, create, update, patch, delete, `/status`), so the
controller, the agents and the tests use the official `kubernetes` client exactly as against a
real cluster. It exists only for `pyantctl lab` and the test suite and is never part of a real
deployment, where the cluster's own kube-apiserver takes its place.

In a test: `with ApiServerThread(ApiServerSettings()) as server: server.write_kubeconfig(path)`.
As a process: `python -m lab.apiserver --listen 127.0.0.1:6443 --state-file state.json
--kubeconfig kubeconfig.yaml`.
"""

from lab.apiserver.server import ApiServer, ApiServerSettings, ApiServerThread

__all__ = ["ApiServer", "ApiServerSettings", "ApiServerThread"]
