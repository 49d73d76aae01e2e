"""The CNI specification versions pyantrea speaks, and the VERSION answer.

Kept free of anything but the standard library's json: answering VERSION is the plugin's
cheapest path and must not load more.
"""

from __future__ import annotations

import json

SUPPORTED_VERSIONS = ("0.3.0", "0.3.1", "0.4.0", "1.0.0")
LATEST = SUPPORTED_VERSIONS[-1]
CHECK_SINCE = (0, 4, 0)
"""CHECK exists from this version of the specification on."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """ "1.0.0" -> (1, 0, 0); None for anything that is not three dot-separated numbers."""
    parts = text.split(".")
    if len(parts) != 3 or not all(part.isascii() and part.isdigit() for part in parts):
        return None
    major, minor, patch = (int(part) for part in parts)
    return major, minor, patch


def allows_check(version: str) -> bool:
    """Whether a configuration of this (supported) version may be CHECKed."""
    return (parse_version(version) or (0, 0, 0)) >= CHECK_SINCE


def version_answer(stdin: bytes) -> str:
    """The VERSION result: the runtime's cniVersion echoed, and the versions supported.

    The runtime sends {"cniVersion": ...}; anything else (nothing, bad JSON) is answered with
    the latest version rather than an error, because this answer is how runtimes find out what
    to send.
    """
    try:
        asked = json.loads(stdin).get("cniVersion")
    except (ValueError, AttributeError, RecursionError):
        asked = None
    version = asked if isinstance(asked, str) and asked else LATEST
    return json.dumps({"cniVersion": version, "supportedVersions": list(SUPPORTED_VERSIONS)})
