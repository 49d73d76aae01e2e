"""The name of a pod's host-side interface: `<pod name[:8]>-<sha1(namespace/name) hex[:6]>`.

At most 15 characters (IFNAMSIZ - 1), readable in `ovs-vsctl show`, and the same for the same
pod every time, so a DEL without any recorded state still finds the interface.
"""

from __future__ import annotations

import hashlib

PREFIX_LENGTH = 8
HASH_LENGTH = 6


def host_interface_name(pod_namespace: str, pod_name: str) -> str:
    digest = hashlib.sha1(f"{pod_namespace}/{pod_name}".encode(), usedforsecurity=False).hexdigest()
    return f"{pod_name[:PREFIX_LENGTH]}-{digest[:HASH_LENGTH]}"
