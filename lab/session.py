"""A `pyantctl lab` command's view of a running lab: its record and its API.

The API server listens on the underlay, inside the lab's namespaces, so that nothing of the
lab is configured in the host's own network namespace: a command that talks to the API first
moves itself into the underlay namespace (before it starts any thread), then uses the real
`kubernetes` client with the lab's kubeconfig, as every other client of the lab does.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes.client import ApiClient, ApiException

from lab import netns
from lab.layout import LabLayout
from lab.record import LabRecord, load
from pyantrea_kube.config import load_api_client
from pyantrea_kube.rest import RestClient

_entered: set[str] = set()


class NoLab(Exception):
    """There is no lab in this directory."""


class ApiUnreachable(Exception):
    """The lab's API server cannot be reached."""


def describe_api_error(error: ApiException) -> str:
    """kubectl's rendering: `Error from server (NotFound): pods "web" not found`."""
    try:
        status: Any = json.loads(error.body or "")
        reason, message = status.get("reason") or error.reason, status.get("message") or error.reason
    except (ValueError, AttributeError):
        reason, message = error.reason, (error.body or error.reason or "").strip()
    return f"Error from server ({reason}): {message}"


class LabSession:
    def __init__(self, layout: LabLayout) -> None:
        self.layout = layout
        try:
            self.record: LabRecord = load(layout.record)
        except FileNotFoundError:
            raise NoLab(
                f"no lab is running (nothing in {layout.root}); start one with `pyantctl lab up`"
            ) from None
        except ValueError as exc:
            raise NoLab(f"{exc}; remove it with `pyantctl lab down`") from exc
        self._api: ApiClient | None = None
        self._rest: RestClient | None = None

    @property
    def rest(self) -> RestClient:
        if self._rest is None:
            if self.record.underlay not in _entered:
                if not netns.exists(self.record.underlay):
                    raise ApiUnreachable(
                        f"the lab's underlay namespace {self.record.underlay} is gone; "
                        "clean up with `pyantctl lab down`"
                    )
                netns.enter(self.record.underlay)
                _entered.add(self.record.underlay)
            self._api = load_api_client(self.layout.kubeconfig)
            self._rest = RestClient(self._api, timeout=10.0)
        return self._rest

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
