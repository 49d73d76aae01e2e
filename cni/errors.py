"""CNI errors: the specification's error codes and the error result a plugin prints.

The codes are those of the CNI specification (0-99) and pyantrea's own (100+), numbered as
`ErrorCode` in proto/cni/v1beta1/cni.proto. This module imports nothing heavy: the plugin
answers errors without loading gRPC.
"""

from __future__ import annotations

import enum
import json


class ErrorCode(enum.IntEnum):
    UNKNOWN = 0
    INCOMPATIBLE_CNI_VERSION = 1
    UNSUPPORTED_FIELD = 2
    UNKNOWN_CONTAINER = 3
    INVALID_ENVIRONMENT_VARIABLES = 4
    IO_FAILURE = 5
    DECODING_FAILURE = 6
    INVALID_NETWORK_CONFIG = 7
    TRY_AGAIN_LATER = 11
    IPAM_FAILURE = 101
    CONFIG_INTERFACE_FAILURE = 102
    CHECK_INTERFACE_FAILURE = 103
    UNKNOWN_RPC_ERROR = 201
    """The plugin's call to the agent failed in a way gRPC reports but CNI has no code for."""
    INCOMPATIBLE_API_VERSION = 202
    """The agent does not serve this version of the CNI service."""


class CniError(Exception):
    """A failed CNI operation: `code`, a short `msg` naming what is wrong, optional `details`."""

    def __init__(self, code: ErrorCode, msg: str, details: str = "") -> None:
        super().__init__(code, msg, details)
        self.code = code
        self.msg = msg
        self.details = details

    def __str__(self) -> str:
        text = f"{self.msg} (CNI error {int(self.code)})"
        return f"{text}: {self.details}" if self.details else text

    def to_json(self, cni_version: str) -> str:
        """The error result of the specification: {"cniVersion", "code", "msg", "details"}."""
        error: dict[str, object] = {"cniVersion": cni_version, "code": int(self.code), "msg": self.msg}
        if self.details:
            error["details"] = self.details
        return json.dumps(error)
