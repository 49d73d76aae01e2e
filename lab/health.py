"""Asking a lab program for its health from outside its network namespace.

The agents and the controller serve `/readyz` on addresses inside the nodes' namespaces; a
worker thread enters the namespace (setns moves only that thread) and makes the request there.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request

from lab import netns


def get_in_netns(name: str, url: str, *, timeout: float = 2.0) -> tuple[int, str]:
    """(HTTP status, body) of GET `url` from inside namespace `name`; status 0 when unreachable."""
    answer: list[tuple[int, str]] = []

    def request() -> None:
        try:
            netns.enter(name)
            with urllib.request.urlopen(url, timeout=timeout) as response:
                answer.append((response.status, response.read().decode(errors="replace")))
        except urllib.error.HTTPError as error:
            answer.append((error.code, error.read().decode(errors="replace")))
        except (OSError, urllib.error.URLError) as error:
            answer.append((0, str(getattr(error, "reason", error))))

    thread = threading.Thread(target=request, name=f"health {name}")
    thread.start()
    thread.join()
    return answer[0]
