"""The network configuration the runtime passes on stdin, decoded and validated.

One plugin configuration object: from a single `.conf`, or derived by the runtime from one
entry of a `.conflist` (then with `prevResult`, the result of the plugins before it). Keys of
pyantrea's own: `mtu` (the pod interface MTU; the agent's defaultMTU when absent) and
`cniSocket` (where the agent listens). Unknown keys are passed over, as the specification
allows. The plugin and the agent both decode it with this code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from cni.errors import CniError, ErrorCode
from cni.fields import Fields
from cni.result import Dns, Result, decode_dns, decode_result
from cni.versions import SUPPORTED_VERSIONS, allows_check

DEFAULT_SOCKET = "/var/run/pyantrea/cni.sock"
IPAM_TYPE = "host-local"
MAX_CONFIG_BYTES = 1 << 20
MTU_RANGE = (68, 65535)

_NETWORK_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]*")


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    cni_version: str
    name: str
    mtu: int | None = None
    cni_socket: str = DEFAULT_SOCKET
    dns: Dns = field(default_factory=Dns)
    prev_result: Result | None = None


def version_of(data: bytes) -> str | None:
    """The configuration's cniVersion if it has a usable one, to label an error result with."""
    try:
        version = json.loads(data).get("cniVersion")
    except (ValueError, AttributeError, RecursionError):
        return None
    return version if isinstance(version, str) and version else None


def decode_config(data: bytes, command: str) -> NetworkConfig:
    """Decode and check the configuration for `command` (ADD, DEL or CHECK).

    Raises `CniError`: 6 when it is not JSON of the right shape, 1 for a version pyantrea does
    not speak (or one without CHECK), 2 for an IPAM type other than host-local, 7 for bad values.
    """
    if len(data) > MAX_CONFIG_BYTES:
        raise CniError(
            ErrorCode.INVALID_NETWORK_CONFIG,
            f"the network configuration has {len(data)} bytes, more than {MAX_CONFIG_BYTES}",
        )
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CniError(
            ErrorCode.DECODING_FAILURE, "cannot decode the network configuration", str(exc)
        ) from None
    fields = Fields(document, "", ErrorCode.DECODING_FAILURE)
    version = _check_version(fields.string("cniVersion"), command)
    name = fields.string("name")
    if not name:
        raise CniError(ErrorCode.INVALID_NETWORK_CONFIG, "missing network name")
    if not _NETWORK_NAME.fullmatch(name):
        raise CniError(ErrorCode.INVALID_NETWORK_CONFIG, f"invalid characters in network name {name!r}")
    ipam = fields.object("ipam")
    if ipam is not None and (ipam_type := ipam.string("type")) != IPAM_TYPE:
        raise CniError(
            ErrorCode.UNSUPPORTED_FIELD,
            f"unsupported field ipam.type={ipam_type!r}",
            f"pyantrea allocates pod addresses with {IPAM_TYPE} from the node's pod subnet",
        )
    prev = fields.obj.get("prevResult")
    return NetworkConfig(
        cni_version=version,
        name=name,
        mtu=_mtu(fields),
        cni_socket=_socket(fields),
        dns=decode_dns(fields.object("dns")),
        prev_result=None if prev is None else decode_result(prev, "prevResult", ErrorCode.DECODING_FAILURE),
    )


def _check_version(version: str, command: str) -> str:
    supported = f"pyantrea supports {', '.join(SUPPORTED_VERSIONS)}"
    if not version:
        raise CniError(
            ErrorCode.INCOMPATIBLE_CNI_VERSION, "incompatible CNI version: cniVersion is missing", supported
        )
    if version not in SUPPORTED_VERSIONS:
        raise CniError(ErrorCode.INCOMPATIBLE_CNI_VERSION, f"incompatible CNI version {version!r}", supported)
    if command == "CHECK" and not allows_check(version):
        raise CniError(
            ErrorCode.INCOMPATIBLE_CNI_VERSION,
            f"CNI version {version} does not allow CHECK",
            "CHECK exists from version 0.4.0 on",
        )
    return version


def _mtu(fields: Fields) -> int | None:
    mtu = fields.integer("mtu")
    low, high = MTU_RANGE
    if mtu is not None and not low <= mtu <= high:
        raise CniError(ErrorCode.INVALID_NETWORK_CONFIG, f"mtu: {mtu} is outside {low}-{high}")
    return mtu


def _socket(fields: Fields) -> str:
    socket = fields.string("cniSocket", DEFAULT_SOCKET)
    if not socket.startswith("/") or not socket.isprintable():
        raise CniError(ErrorCode.INVALID_NETWORK_CONFIG, f"cniSocket: {socket!r} is not an absolute path")
    return socket
