"""The exceptions of the netlink edge, and the translation of pyroute2's errors into them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class NetworkConfigError(Exception):
    """Base of every error raised by `pyantrea_netlink`: a kernel refusal, with what was asked."""


class NetnsNotFoundError(NetworkConfigError, FileNotFoundError):
    """The network namespace path does not exist or is not a network namespace."""


class LinkNotFoundError(NetworkConfigError, LookupError):
    """No network device of that name in the namespace."""


class LinkExistsError(NetworkConfigError, FileExistsError):
    """A network device of that name already exists in the namespace."""


@contextmanager
def explained(what: str, *, ignore: tuple[int, ...] = ()) -> Iterator[None]:
    """Re-raise pyroute2's NetlinkError as NetworkConfigError("<what>: <reason>").

    Errors whose errno is in `ignore` are swallowed: they mean the work is already done (a
    missing device or address when deleting it).
    """
    from pyroute2 import NetlinkError  # here, so the exception classes import without pyroute2

    try:
        yield
    except NetlinkError as exc:
        if exc.code not in ignore:
            raise NetworkConfigError(f"{what}: {exc.args[1]}") from exc
