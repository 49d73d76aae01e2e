"""Node tokens derived from a shared secret, for controllers without a cluster to review tokens.

The token of node N is `N:` followed by HMAC-SHA256(secret, N) in hex: the controller checks it
with the secret alone, and a node's token says nothing about another node's.

    python -m controlplane.auth.shared --secret-file /etc/pyantrea/token node1   # prints the token
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
from pathlib import Path

from controlplane.auth.tokens import Identity

_SEPARATOR = ":"


def read_secret(path: Path) -> bytes:
    """The secret in `path`, without surrounding whitespace; it must not be empty."""
    secret = path.read_bytes().strip()
    if not secret:
        raise ValueError(f"shared token file {path} is empty")
    return secret


def node_token(secret: bytes, node: str) -> str:
    """The token that lets the agent of `node` in."""
    if not node or _SEPARATOR in node:
        raise ValueError(f"node name {node!r} must be non-empty and hold no {_SEPARATOR!r}")
    return f"{node}{_SEPARATOR}{hmac.new(secret, node.encode(), hashlib.sha256).hexdigest()}"


class SharedSecretAuthenticator:
    """Accepts the node tokens of one shared secret."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the shared secret must not be empty")
        self._secret = secret

    async def authenticate(self, token: str) -> Identity | None:
        node, separator, _ = token.rpartition(_SEPARATOR)
        if not separator or not node:
            return None
        if hmac.compare_digest(node_token(self._secret, node).encode(), token.encode()):
            return Identity(node)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m controlplane.auth.shared", description="Print the controlplane token of a node."
    )
    parser.add_argument("--secret-file", type=Path, required=True, help="the controller's authTokenFile")
    parser.add_argument("node", help="the node's name")
    args = parser.parse_args(argv)
    try:
        print(node_token(read_secret(args.secret_file), args.node))
    except (OSError, ValueError) as error:
        parser.error(str(error))
    return 0


if __name__ == "__main__":
    sys.exit(main())
