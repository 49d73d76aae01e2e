"""`pyantctl`: the pyantrea command line.

Three command groups, each a module with a `register(subparsers, ...)` that adds its commands,
each with a `func(args) -> int` default: `lab` (`pyantctl.labcmd`), `get` and `trace`. `get`
and `trace` speak HTTP only; when told no server they ask the lab's (`pyantctl.labcmd.server`),
which is loaded only then. Only the group a command line names is loaded, so `get` and `trace`
never load the lab, as in the controller pod. Errors a user can act on are `CliError`s and print
as one `error: ...` line with exit status 1; usage errors exit with 2, as argparse does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pyantctl import get, trace
from pyantctl.client import Target
from pyantctl.errors import CliError

COMMAND_GROUPS = ("lab", "get", "trace")


def _lab_controller() -> Target:
    """The running lab's controller, where `get` and `trace` go when given no server."""
    from pyantctl.labcmd.server import lab_controller

    return lab_controller()


def _register(group: str, subparsers: Any) -> None:
    if group == "lab":
        from pyantctl import labcmd

        labcmd.register(subparsers)
    elif group == "get":
        get.register(subparsers, _lab_controller)
    else:
        trace.register(subparsers, _lab_controller)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser: of the group `argv` names, or of every group (for `--help` and mistakes)."""
    parser = argparse.ArgumentParser(
        prog="pyantctl", description="The pyantrea command line.", allow_abbrev=False
    )
    subparsers = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    named = argv[0] if argv and argv[0] in COMMAND_GROUPS else None
    for group in (named,) if named else COMMAND_GROUPS:
        _register(group, subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.func(args))
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
