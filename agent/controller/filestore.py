"""The last policies and groups received, saved to files so a restarted agent can enforce them
while the controller is unreachable (Antrea's `filestore.go`).

Under `policyStateDir`, one file per object, named by the object's name, in
`network-policies/`, `address-groups/` and `applied-to-groups/`, holding the object's protobuf
message. Files are replaced atomically (written aside, then renamed), so a crash leaves either
the old or the new object. A file that cannot be read back is logged and skipped. Everything
here blocks: call it from a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from google.protobuf.message import DecodeError

from agent.policy.store import PolicySnapshot, StateObject
from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from pyantrea_api.convert import (
    ConversionError,
    address_group_from_proto,
    address_group_to_proto,
    applied_to_group_from_proto,
    applied_to_group_to_proto,
    policy_from_proto,
    policy_to_proto,
)
from pyantrea_api.events import ObjectKind
from pyantrea_api.objects import AddressGroup, AppliedToGroup, InternalNetworkPolicy

log = logging.getLogger(__name__)

S = TypeVar("S", InternalNetworkPolicy, AddressGroup, AppliedToGroup)

DIRECTORIES = {
    ObjectKind.NETWORK_POLICY: "network-policies",
    ObjectKind.ADDRESS_GROUP: "address-groups",
    ObjectKind.APPLIED_TO_GROUP: "applied-to-groups",
}
_STAGING_PREFIX = "."


def _encode(obj: StateObject) -> bytes:
    if isinstance(obj, InternalNetworkPolicy):
        return policy_to_proto(obj).SerializeToString()
    if isinstance(obj, AddressGroup):
        return address_group_to_proto(obj).SerializeToString()
    return applied_to_group_to_proto(obj).SerializeToString()


def _policy(data: bytes) -> InternalNetworkPolicy:
    return policy_from_proto(pb.NetworkPolicy.FromString(data))


def _address_group(data: bytes) -> AddressGroup:
    return address_group_from_proto(pb.AddressGroup.FromString(data))


def _applied_to_group(data: bytes) -> AppliedToGroup:
    return applied_to_group_from_proto(pb.AppliedToGroup.FromString(data))


class FileStore:
    """Objects saved under one directory, one file each."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def save_all(self, snapshot: PolicySnapshot) -> None:
        """Make the files hold exactly `snapshot`."""
        for kind, objects in _by_kind(snapshot).items():
            folder = self._folder(kind)
            for name, obj in objects.items():
                self._write(folder, name, obj)
            for path in folder.iterdir():
                if path.name not in objects:
                    path.unlink(missing_ok=True)

    def save(self, changes: Iterable[tuple[ObjectKind, str, StateObject | None]]) -> None:
        """Write each object, or remove its file when None."""
        for kind, name, obj in changes:
            folder = self._folder(kind)
            if obj is None:
                (folder / _file_name(name)).unlink(missing_ok=True)
            else:
                self._write(folder, name, obj)

    def load(self) -> PolicySnapshot | None:
        """What was saved, or None when nothing was."""
        policies = self._load(ObjectKind.NETWORK_POLICY, _policy)
        address_groups = self._load(ObjectKind.ADDRESS_GROUP, _address_group)
        applied_to_groups = self._load(ObjectKind.APPLIED_TO_GROUP, _applied_to_group)
        if not (policies or address_groups or applied_to_groups):
            return None
        return PolicySnapshot(policies, address_groups, applied_to_groups)

    def _load(self, kind: ObjectKind, decode: Callable[[bytes], S]) -> dict[str, S]:
        folder = self.directory / DIRECTORIES[kind]
        if not folder.is_dir():
            return {}
        objects: dict[str, S] = {}
        for path in sorted(folder.iterdir()):
            if path.name.startswith(_STAGING_PREFIX):
                continue
            try:
                obj = decode(path.read_bytes())
            except (OSError, DecodeError, ConversionError) as error:
                log.error("skipping saved %s %s: %s", kind.value, path, error)
                continue
            if obj.name != path.name:
                log.error("skipping saved %s %s: it holds %r", kind.value, path, obj.name)
                continue
            objects[path.name] = obj
        return objects

    def _folder(self, kind: ObjectKind) -> Path:
        folder = self.directory / DIRECTORIES[kind]
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _write(self, folder: Path, name: str, obj: StateObject) -> None:
        path = folder / _file_name(name)
        staging = folder / f"{_STAGING_PREFIX}{path.name}.tmp"
        try:
            staging.write_bytes(_encode(obj))
            os.replace(staging, path)
        except BaseException:
            with contextlib.suppress(OSError):
                staging.unlink()
            raise


def _file_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or name.startswith(_STAGING_PREFIX) or "\0" in name:
        raise ValueError(f"object name {name!r} cannot be a file name")
    return name


def _by_kind(snapshot: PolicySnapshot) -> dict[ObjectKind, Mapping[str, StateObject]]:
    return {
        ObjectKind.NETWORK_POLICY: snapshot.policies,
        ObjectKind.ADDRESS_GROUP: snapshot.address_groups,
        ObjectKind.APPLIED_TO_GROUP: snapshot.applied_to_groups,
    }
