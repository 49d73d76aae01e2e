"""Value kinds of configuration keys: how a YAML value or a flag's text becomes a typed value, and back.

A key's kind follows from its type annotation in the schema dataclass (see ``pyantrea_config.schema``):
``str``, ``int``, ``bool``, ``pathlib.Path``, a ``StrEnum``, or one of the value types declared
here (``InterfaceName``, ``ObjectName``, ``IPNetwork``, ``IPAddress``, ``HostPort``). Parsers
raise ``ValueError`` with a reason that reads well after the key name, e.g. ``expected an
integer, got string '1450'``.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NewType

InterfaceName = NewType("InterfaceName", str)
"""A Linux network interface name: 1 to 15 characters, no '/', ':' or whitespace."""

ObjectName = NewType("ObjectName", str)
"""A Kubernetes object name such as a Node's: a lowercase RFC 1123 DNS subdomain."""

CIDRList = NewType("CIDRList", tuple)
"""A list of CIDRs: a YAML list, or comma-separated on a flag."""

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_IFNAMSIZ = 16
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True, slots=True)
class HostPort:
    """A TCP or UDP endpoint written ``host:port`` (``[2001:db8::1]:4739`` for IPv6 literals)."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Kind:
    """How values of one type are read from YAML and from flag text, shown, and written back.

    ``choices`` lists the allowed values of an enumeration, empty for other kinds.
    """

    name: str
    parse: Callable[[Any], Any]
    from_text: Callable[[str], Any]
    to_plain: Callable[[Any], Any]
    choices: tuple[str, ...] = ()


def describe(value: Any) -> str:
    """A YAML value as an error message shows it: its YAML type and its value."""
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    return f"{names.get(type(value), type(value).__name__)} {value!r}"


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {describe(value)}")
    if not value:
        raise ValueError("must not be empty")
    return value


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {describe(value)}")
    return value


def _integer_text(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {describe(value)}")
    return value


def _boolean_text(text: str) -> bool:
    words = {"true": True, "false": False}
    if text.lower() not in words:
        raise ValueError(f"expected true or false, got {text!r}")
    return words[text.lower()]


def _interface_name(value: Any) -> InterfaceName:
    name = _string(value)
    if len(name) >= _IFNAMSIZ:
        raise ValueError(f"interface name {name!r} is longer than {_IFNAMSIZ - 1} characters")
    if name in {".", ".."} or any(c in name for c in "/:") or any(c.isspace() for c in name):
        raise ValueError(f"{name!r} is not a valid interface name (no '/', ':' or whitespace)")
    return InterfaceName(name)


def _object_name(value: Any) -> ObjectName:
    name = _string(value)
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise ValueError(f"{name!r} is not a Kubernetes object name (lowercase letters, digits, '-' and '.')")
    return ObjectName(name)


def _network(value: Any) -> IPNetwork:
    text = _string(value)
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(f"malformed CIDR {text!r} (expected address/prefix-length)") from None
    raise ValueError(f"malformed CIDR {text!r}: host bits are set (did you mean {loose}?)")


def _address(value: Any) -> IPAddress:
    text = _string(value)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"malformed IP address {text!r}") from None


def _host_port(value: Any) -> HostPort:
    text = _string(value)
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"expected host:port, got {text!r} (write IPv6 addresses as [addr]:port)")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port with a port from 1 to 65535, got {text!r}")
    return HostPort(host, int(port))


def _cidr_list(value: Any) -> CIDRList:
    if isinstance(value, str):
        items: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ValueError(f"expected a list of CIDRs, got {describe(value)}")
    return CIDRList(tuple(_network(item) for item in items))


def _identity(value: Any) -> Any:
    return value


def _enum_kind(enum_type: type[enum.StrEnum]) -> Kind:
    choices = tuple(member.value for member in enum_type)
    allowed = ", ".join(choices)

    def parse(value: Any) -> enum.StrEnum:
        text = _string(value)
        try:
            return enum_type(text)
        except ValueError:
            raise ValueError(f"{text!r} is not allowed (allowed: {allowed})") from None

    return Kind("enumeration", parse, parse, lambda member: member.value, choices)


_KINDS: dict[object, Kind] = {
    str: Kind("string", _string, _string, _identity),
    int: Kind("integer", _integer, _integer_text, _identity),
    bool: Kind("boolean", _boolean, _boolean_text, _identity),
    Path: Kind("path", lambda v: Path(_string(v)), lambda t: Path(_string(t)), str),
    InterfaceName: Kind("interface name", _interface_name, _interface_name, _identity),
    ObjectName: Kind("object name", _object_name, _object_name, _identity),
    frozenset({ipaddress.IPv4Network, ipaddress.IPv6Network}): Kind("CIDR", _network, _network, str),
    frozenset({ipaddress.IPv4Address, ipaddress.IPv6Address}): Kind("IP address", _address, _address, str),
    HostPort: Kind("host:port", _host_port, _host_port, str),
    CIDRList: Kind("list of CIDRs", _cidr_list, _cidr_list, lambda v: [str(n) for n in v]),
}


def kind_of(annotation: object) -> Kind:
    """The kind of a schema annotation with ``None`` already removed from it."""
    if isinstance(annotation, type) and issubclass(annotation, enum.StrEnum):
        return _enum_kind(annotation)
    if isinstance(annotation, frozenset) and len(annotation) == 1:
        (annotation,) = annotation
    try:
        return _KINDS[annotation]
    except (KeyError, TypeError):
        raise TypeError(f"no configuration kind for the annotation {annotation!r}") from None
