"""Lazy OVSDB commands and what they see while they run.

A command is a frozen value describing one operation (`AddBridge(name="br-int", ...)`); nothing
happens when it is built. The IDL worker thread later stages a batch of commands into one
python-ovs transaction by calling `run_idl` on each, in order, with a `TxnContext`, then commits
the transaction. This is ovsdbapp's layering (api → commands → IDL) without its thread-keyed
nesting: a transaction is simply the tuple of commands handed to `Ovsdb.transact`.

`run_idl` runs on the worker thread only, and must return plain values (never python-ovs rows,
which belong to that thread).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from ovs.db.idl import Idl, Row, Transaction

from pyantrea_ovsdb.errors import OvsdbError, RecordNotFoundError

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

_IFNAMSIZ = 16


def freeze(mapping: Mapping[str, str]) -> Mapping[str, str]:
    """A read-only copy of a string map (external_ids, options) for use inside frozen values."""
    return MappingProxyType(dict(mapping))


def check_name(field: str, name: str) -> None:
    """Bridge, port and interface names become network device names: 1 to 15 printable bytes."""
    if not 0 < len(name.encode()) <= _IFNAMSIZ - 1 or not name.isprintable() or " " in name or "/" in name:
        raise ValueError(f"{field} must be a device name of 1-15 characters, no spaces or '/', got {name!r}")


def check_choice(field: str, choices: type[E], value: str) -> E:
    """`value` as a member of the string enum `choices`, or a ValueError naming the field."""
    try:
        return choices(value)
    except ValueError:
        known = ", ".join(choice.value for choice in choices)
        raise ValueError(f"{field} must be one of {known}, got {value!r}") from None


def optional(row: Row, column: str) -> Any:
    """The value of an optional column (python-ovs returns a list of zero or one element)."""
    value = getattr(row, column)
    return value[0] if value else None


class Replica:
    """Read access to the IDL's in-memory copy of the database (worker thread only)."""

    __slots__ = ("_idl",)

    def __init__(self, idl: Idl) -> None:
        self._idl = idl

    def rows(self, table: str) -> Iterator[Row]:
        return iter(list(self._idl.tables[table].rows.values()))

    def find(self, table: str, name: str) -> Row | None:
        """The row of `table` whose `name` column is `name`, if any."""
        return next((row for row in self.rows(table) if row.name == name), None)

    def open_vswitch(self) -> Row:
        """The single row of the Open_vSwitch table."""
        row = next(self.rows("Open_vSwitch"), None)
        if row is None:
            raise OvsdbError("the Open_vSwitch table is empty: initialize the database (ovs-vsctl init)")
        return row

    def bridge(self, name: str) -> Row:
        row = self.find("Bridge", name)
        if row is None:
            raise RecordNotFoundError(f"bridge {name!r} does not exist")
        return row

    def bridge_of(self, port: Row) -> Row | None:
        """The bridge that holds `port` (None for a port no bridge references)."""
        return next((br for br in self.rows("Bridge") if port in br.ports), None)


class TxnContext(Replica):
    """A replica with an open transaction: what `Command.run_idl` writes through."""

    __slots__ = ("_txn",)

    def __init__(self, idl: Idl, txn: Transaction) -> None:
        super().__init__(idl)
        self._txn = txn

    def insert(self, table: str) -> Row:
        return self._txn.insert(self._idl.tables[table])


class Command(ABC, Generic[T]):
    """One lazy OVSDB operation; `run_idl` stages it and returns its result."""

    __slots__ = ()

    @abstractmethod
    def run_idl(self, txn: TxnContext) -> T:
        """Stage the operation's reads and writes into `txn` and return the command's result."""
