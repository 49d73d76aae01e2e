"""Agent tokens checked by the Kubernetes API (TokenReview), for a controller in a real cluster.

A token is valid when the API authenticates it as the agents' ServiceAccount; the node it speaks
for is its `authentication.kubernetes.io/node-name` claim, which Kubernetes (1.30+) puts in the
tokens it projects into pods. The review itself (and its one-minute cache, so reconnecting agents
do not each cost one) is `pyantrea_kube.reviews`, which the agent's local API uses too.
"""

from __future__ import annotations

import logging

from controlplane.auth.tokens import Identity
from pyantrea_kube.rest import RestClient
from pyantrea_kube.reviews import ReviewUnavailable, TokenReviewer, User

log = logging.getLogger(__name__)

AGENT_USER = "system:serviceaccount:kube-system:pyantrea-agent"
NODE_NAME_CLAIM = "authentication.kubernetes.io/node-name"


class TokenReviewAuthenticator:
    """Accepts the node-bound tokens of the agents' ServiceAccount."""

    def __init__(self, rest: RestClient, *, user: str = AGENT_USER) -> None:
        self._reviewer = TokenReviewer(rest)
        self._user = user

    async def authenticate(self, token: str) -> Identity | None:
        try:
            user = await self._reviewer.review(token)
        except ReviewUnavailable:
            return None
        return None if user is None else self._identity(user)

    def _identity(self, user: User) -> Identity | None:
        if user.name != self._user:
            log.warning("token of %r refused: only %s may watch", user.name, self._user)
            return None
        nodes = user.extra.get(NODE_NAME_CLAIM) or ()
        if len(nodes) != 1 or not nodes[0]:
            log.warning("token of %s refused: not bound to a node (no %s claim)", self._user, NODE_NAME_CLAIM)
            return None
        return Identity(nodes[0])
