"""The plugin's two messages of proto/cni/v1beta1/cni.proto, in protobuf's wire format by hand.

`CniCmdRequest` out, `CniCmdResponse` in: a handful of string, bytes and enum fields. Encoding
them here keeps the protobuf runtime (about 20 ms of start-up) out of a process that runs once
per pod operation; the agent uses the generated code, and tests/cni/test_wire.py checks both
directions against it.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE = "/pyantrea.cni.v1beta1.Cni/"
METHODS = {"ADD": SERVICE + "CmdAdd", "CHECK": SERVICE + "CmdCheck", "DEL": SERVICE + "CmdDel"}

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """Bytes that are not a valid encoding of the message."""


@dataclass(frozen=True, slots=True)
class CmdArgs:
    """`CniCmdArgs`: the CNI environment and the network configuration."""

    container_id: str
    netns: str
    ifname: str
    args: str
    path: str
    network_configuration: bytes


@dataclass(frozen=True, slots=True)
class CmdError:
    code: int
    message: str
    details: str


@dataclass(frozen=True, slots=True)
class CmdResponse:
    cni_result: bytes
    error: CmdError | None


def encode_request(args: CmdArgs) -> bytes:
    """`CniCmdRequest{cni_args: args}`, byte for byte as the generated code writes it."""
    fields = (args.container_id, args.netns, args.ifname, args.args, args.path)
    body = b"".join(_field(number, value.encode()) for number, value in enumerate(fields, 1) if value)
    if args.network_configuration:
        body += _field(6, args.network_configuration)
    return _field(1, body)


def decode_response(data: bytes) -> CmdResponse:
    """`CniCmdResponse`; unknown fields are skipped, as protobuf does."""
    result, error = b"", None
    for number, value in _fields(data):
        if number == 1 and isinstance(value, bytes):
            result = value
        elif number == 2 and isinstance(value, bytes):
            error = _decode_error(value)
    return CmdResponse(result, error)


def _decode_error(data: bytes) -> CmdError:
    code, message, details = 0, "", ""
    for number, value in _fields(data):
        if number == 1 and isinstance(value, int):
            code = value if value < 1 << 63 else value - (1 << 64)  # int32 enums are sign-extended
        elif number == 2 and isinstance(value, bytes):
            message = _text(value)
        elif number == 3 and isinstance(value, bytes):
            details = _text(value)
    return CmdError(code, message, details)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _BYTES) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) of every varint (an int) and length-delimited field (bytes).

    Fixed-width fields, which none of these messages has, are skipped.
    """
    fields: list[tuple[int, int | bytes]] = []
    position = 0
    while position < len(data):
        key, position = _read_varint(data, position)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == _VARINT:
            value, position = _read_varint(data, position)
            fields.append((number, value))
            continue
        if wire == _BYTES:
            size, position = _read_varint(data, position)
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
        else:
            raise WireError(f"field {number} has wire type {wire}")
        end = position + size
        if end > len(data):
            raise WireError(f"field {number} runs past the end of the message")
        if wire == _BYTES:
            fields.append((number, data[position:end]))
        position = end
    return fields


def _read_varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise WireError("truncated or overlong varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def _text(value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise WireError("a string field is not UTF-8") from None
