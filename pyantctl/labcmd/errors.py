"""How `pyantctl lab` commands report failures as one line: the lab's own errors become
`CliError`s; the API server's refusals print as kubectl prints them."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

import urllib3
from kubernetes.client import ApiException

from lab.applying import LabelError
from lab.kinds import UnknownKind
from lab.manifests import ManifestError
from lab.probing import ProbeError
from lab.session import ApiUnreachable, NoLab, describe_api_error
from lab.up import UpFailed
from lab.waiting import WaitFailed
from pyantctl.errors import CliError

Command = Callable[[argparse.Namespace], int]

LAB_ERRORS: tuple[type[Exception], ...] = (
    NoLab,
    ApiUnreachable,
    UnknownKind,
    ManifestError,
    WaitFailed,
    UpFailed,
    ProbeError,
    LabelError,
)
"""The lab's errors a user can act on: printed as `error: ...`, without a traceback."""


def reported(command: Command) -> Command:
    """`command`, with the lab's errors as `CliError` and the API server's answers printed."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except LAB_ERRORS as error:
            raise CliError(str(error)) from error
        except ApiException as error:
            print(describe_api_error(error), file=sys.stderr)
        except urllib3.exceptions.HTTPError as error:
            print(
                f"error: the lab's API server does not answer ({error}); see `pyantctl lab status`",
                file=sys.stderr,
            )
        return 1

    return run
