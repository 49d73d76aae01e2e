"""The errors `pyantctl` reports as one line, without a traceback: what a user can act on."""

from __future__ import annotations

from lab.applying import LabelError
from lab.kinds import UnknownKind
from lab.manifests import ManifestError
from lab.probing import ProbeError
from lab.session import ApiUnreachable, NoLab
from lab.up import UpFailed
from lab.waiting import WaitFailed


class CliError(Exception):
    """A command cannot do what it was asked; the message says why and, if possible, what to do."""


USER_ERRORS: tuple[type[Exception], ...] = (
    CliError,
    NoLab,
    ApiUnreachable,
    UnknownKind,
    ManifestError,
    WaitFailed,
    UpFailed,
    ProbeError,
    LabelError,
)
