"""Who may use the controlplane API, and the TLS that protects it.

Every call carries `authorization: Bearer <token>`; an `Authenticator` turns the token into the
`Identity` of one node, and a node may only watch (and report for) itself:

* **Shared secret** (`authTokenFile`, for a lab or any place without a cluster to review
  tokens): the file holds a secret S that only the controller and whoever provisions agents
  know. The token of node N is `N:HMAC-SHA256(S, N)` in hex (`shared.node_token`; mint one with
  `python -m controlplane.auth.shared --secret-file S N`). An agent gets only its own node's
  token in its `controllerTokenFile`, so it cannot pose as another node.
* **TokenReview** (a real cluster): the agent's projected ServiceAccount token is reviewed by
  the Kubernetes API; it must belong to the agent's ServiceAccount, and the node is the token's
  `authentication.kubernetes.io/node-name` claim (bound tokens of Kubernetes 1.30+).

TLS (`certs`): the controller serves a certificate for `pyantrea_api.server.SERVER_NAME`,
self-signed with a CA of its own unless one is configured, and publishes the CA (`publish`) where
agents read it; agents verify the controller under `SERVER_NAME` whatever address they dial, as
Antrea's do.
"""
