"""The parameters of one CNI call (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, ...), validated.

The plugin reads them from its environment; the agent receives the same strings in a
`CniCmdArgs` and validates them again with this code, so both sides agree on what is valid and
on the error code that says why not (4, invalid environment variables, naming the variable).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cni.errors import CniError, ErrorCode

COMMANDS = ("ADD", "DEL", "CHECK")
_REQUIRED = {
    "ADD": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
    "CHECK": ("CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"),
    "DEL": ("CNI_CONTAINERID", "CNI_IFNAME"),
}
POD_NAMESPACE_ARG = "K8S_POD_NAMESPACE"
POD_NAME_ARG = "K8S_POD_NAME"
POD_UID_ARG = "K8S_POD_UID"

_CONTAINER_ID = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]*")
# Kubernetes object names: a namespace is an RFC 1123 label, a pod name an RFC 1123 subdomain.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_POD_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
# metadata.uid: a UUID on a real API server; anything else is not taken as the pod's identity.
_POD_UID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MAX_IFNAME_BYTES = 15


def _invalid(msg: str, details: str = "") -> CniError:
    return CniError(ErrorCode.INVALID_ENVIRONMENT_VARIABLES, msg, details)


@dataclass(frozen=True, slots=True)
class Invocation:
    """One validated call: the command and its parameters, CNI_ARGS split into pairs."""

    command: str
    container_id: str
    netns: str
    ifname: str
    args: tuple[tuple[str, str], ...]
    path: tuple[str, ...]

    def arg(self, key: str) -> str | None:
        """The value of `key` in CNI_ARGS, if given."""
        for name, value in self.args:
            if name == key:
                return value
        return None

    def pod(self) -> tuple[str, str] | None:
        """(namespace, name) of the pod from CNI_ARGS; None unless both are given and valid.

        ADD always has them (`validate` insists); DEL may come without.
        """
        namespace, name = self.arg(POD_NAMESPACE_ARG), self.arg(POD_NAME_ARG)
        if namespace and name and _NAMESPACE.fullmatch(namespace) and _POD_NAME.fullmatch(name):
            return namespace, name
        return None

    def pod_uid(self) -> str:
        """The pod's metadata.uid from CNI_ARGS (containerd and CRI-O pass it); "" when not given.

        It tells a pod apart from an earlier one of the same name, which namespace and name cannot.
        """
        uid = self.arg(POD_UID_ARG) or ""
        return uid if _POD_UID.fullmatch(uid) else ""


def from_environ(environ: Mapping[str, str]) -> Invocation:
    """The call described by the CNI_* variables of `environ` (ADD, DEL or CHECK)."""
    return validate(
        command=environ.get("CNI_COMMAND", ""),
        container_id=environ.get("CNI_CONTAINERID", ""),
        netns=environ.get("CNI_NETNS", ""),
        ifname=environ.get("CNI_IFNAME", ""),
        args=environ.get("CNI_ARGS", ""),
        path=environ.get("CNI_PATH", ""),
    )


def validate(*, command: str, container_id: str, netns: str, ifname: str, args: str, path: str) -> Invocation:
    """Check every parameter of a call the way the specification and Kubernetes define them.

    Raises `CniError` 4 naming the variable that is missing or invalid.
    """
    if not command:
        raise _invalid("required env variables [CNI_COMMAND] missing")
    if command not in COMMANDS:
        raise _invalid(f"unknown CNI_COMMAND {command!r}", f"pyantrea-cni supports {', '.join(COMMANDS)}")
    given = {"CNI_CONTAINERID": container_id, "CNI_NETNS": netns, "CNI_IFNAME": ifname}
    for name, value in (*given.items(), ("CNI_ARGS", args), ("CNI_PATH", path)):
        if not _is_utf8(value):
            raise _invalid(f"{name} is not valid UTF-8", repr(value))
    missing = [name for name in _REQUIRED[command] if not given[name]]
    if missing:
        raise _invalid(f"required env variables [{','.join(missing)}] missing")
    if not _CONTAINER_ID.fullmatch(container_id):
        raise _invalid(f"invalid characters in CNI_CONTAINERID {container_id!r}")
    if netns and not (netns.startswith("/") and "\0" not in netns):
        raise _invalid(f"CNI_NETNS {netns!r} is not an absolute path")
    if "\0" in path:
        raise _invalid("CNI_PATH contains a NUL character")
    _check_ifname(ifname)
    invocation = Invocation(
        command=command,
        container_id=container_id,
        netns=netns,
        ifname=ifname,
        args=parse_args(args),
        path=tuple(part for part in path.split(":") if part),
    )
    if command == "ADD":
        _check_pod(invocation)
    return invocation


def parse_args(text: str) -> tuple[tuple[str, str], ...]:
    """CNI_ARGS "K=V;K2=V2" as pairs; empty segments are skipped, a pair needs a key and '='."""
    pairs = []
    for segment in text.split(";"):
        if not segment:
            continue
        key, sep, value = segment.partition("=")
        if not sep or not key:
            raise _invalid(f"CNI_ARGS has an invalid pair {segment!r}", "expected KEY=VALUE;KEY=VALUE")
        pairs.append((key, value))
    return tuple(pairs)


def _check_ifname(ifname: str) -> None:
    if len(ifname.encode()) > _MAX_IFNAME_BYTES:
        raise _invalid(f"CNI_IFNAME {ifname!r} is too long", "an interface name has at most 15 bytes")
    if ifname in (".", ".."):
        raise _invalid(f"CNI_IFNAME {ifname!r} is not an interface name")
    if any(char in "/:\0" or char.isspace() for char in ifname):
        raise _invalid(f"CNI_IFNAME {ifname!r} contains '/', ':', NUL or whitespace")


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # undecodable bytes in the environment arrive as lone surrogates
        return False
    return True


def _check_pod(invocation: Invocation) -> None:
    namespace, name = invocation.arg(POD_NAMESPACE_ARG), invocation.arg(POD_NAME_ARG)
    missing = [key for key, value in ((POD_NAMESPACE_ARG, namespace), (POD_NAME_ARG, name)) if not value]
    if missing:
        raise _invalid(f"CNI_ARGS lacks {' and '.join(missing)}", "the kubelet passes the pod in CNI_ARGS")
    if not _NAMESPACE.fullmatch(namespace or ""):
        raise _invalid(f"CNI_ARGS {POD_NAMESPACE_ARG}={namespace!r} is not a Kubernetes namespace name")
    if not _POD_NAME.fullmatch(name or ""):
        raise _invalid(f"CNI_ARGS {POD_NAME_ARG}={name!r} is not a Kubernetes pod name")
