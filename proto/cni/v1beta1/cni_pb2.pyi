from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNKNOWN: _ClassVar[ErrorCode]
    INCOMPATIBLE_CNI_VERSION: _ClassVar[ErrorCode]
    UNSUPPORTED_FIELD: _ClassVar[ErrorCode]
    UNKNOWN_CONTAINER: _ClassVar[ErrorCode]
    INVALID_ENVIRONMENT_VARIABLES: _ClassVar[ErrorCode]
    IO_FAILURE: _ClassVar[ErrorCode]
    DECODING_FAILURE: _ClassVar[ErrorCode]
    INVALID_NETWORK_CONFIG: _ClassVar[ErrorCode]
    TRY_AGAIN_LATER: _ClassVar[ErrorCode]
    IPAM_FAILURE: _ClassVar[ErrorCode]
    CONFIG_INTERFACE_FAILURE: _ClassVar[ErrorCode]
    CHECK_INTERFACE_FAILURE: _ClassVar[ErrorCode]
    UNKNOWN_RPC_ERROR: _ClassVar[ErrorCode]
    INCOMPATIBLE_API_VERSION: _ClassVar[ErrorCode]
UNKNOWN: ErrorCode
INCOMPATIBLE_CNI_VERSION: ErrorCode
UNSUPPORTED_FIELD: ErrorCode
UNKNOWN_CONTAINER: ErrorCode
INVALID_ENVIRONMENT_VARIABLES: ErrorCode
IO_FAILURE: ErrorCode
DECODING_FAILURE: ErrorCode
INVALID_NETWORK_CONFIG: ErrorCode
TRY_AGAIN_LATER: ErrorCode
IPAM_FAILURE: ErrorCode
CONFIG_INTERFACE_FAILURE: ErrorCode
CHECK_INTERFACE_FAILURE: ErrorCode
UNKNOWN_RPC_ERROR: ErrorCode
INCOMPATIBLE_API_VERSION: ErrorCode

class CniCmdArgs(_message.Message):
    __slots__ = ("container_id", "netns", "ifname", "args", "path", "network_configuration")
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    NETNS_FIELD_NUMBER: _ClassVar[int]
    IFNAME_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    NETWORK_CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    container_id: str
    netns: str
    ifname: str
    args: str
    path: str
    network_configuration: bytes
    def __init__(self, container_id: _Optional[str] = ..., netns: _Optional[str] = ..., ifname: _Optional[str] = ..., args: _Optional[str] = ..., path: _Optional[str] = ..., network_configuration: _Optional[bytes] = ...) -> None: ...

class CniCmdRequest(_message.Message):
    __slots__ = ("cni_args",)
    CNI_ARGS_FIELD_NUMBER: _ClassVar[int]
    cni_args: CniCmdArgs
    def __init__(self, cni_args: _Optional[_Union[CniCmdArgs, _Mapping]] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "details")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    message: str
    details: str
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., message: _Optional[str] = ..., details: _Optional[str] = ...) -> None: ...

class CniCmdResponse(_message.Message):
    __slots__ = ("cni_result", "error")
    CNI_RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    cni_result: bytes
    error: Error
    def __init__(self, cni_result: _Optional[bytes] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...
