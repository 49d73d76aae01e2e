"""Asking a lab program for its health from outside its network namespace.

The agents and the controller serve `/readyz` on addresses inside the nodes' namespaces; a
worker thread enters the namespace (setns moves only that thread) and makes the request there.
Over HTTPS (the agents' API) the certificate is not verified, as a kubelet's HTTPS probe does not
verify it: health and metrics are open paths, and no credentials are sent.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

from lab import netns

_PROBE_TLS = ssl.create_default_context()
_PROBE_TLS.check_hostname = False
_PROBE_TLS.verify_mode = ssl.CERT_NONE


def get_in_netns(name: str, url: str, *, timeout: float = 2.0) -> tuple[int, str]:
    """(HTTP status, body) of GET `url` from inside namespace `name`; status 0 when unreachable."""

    def request() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=timeout, context=_PROBE_TLS) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except (OSError, urllib.error.URLError) as error:
            return 0, str(getattr(error, "reason", error))

    return netns.call_in(name, request)
