"""`pyantctl`: the pyantrea command line.

Command groups register themselves: each module in `COMMAND_GROUPS` has a
`register(subparsers)` that adds its commands, each with a `func(args) -> int` default. `lab`
is here; `get` and `trace` join the same way. Errors a user can act on are `CliError`s (or
the known kinds in `_USER_ERRORS`) and print as one `error: ...` line with exit status 1;
usage errors exit with 2, as argparse does.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import urllib3
from kubernetes.client import ApiException

from lab.session import describe_api_error
from pyantctl.errors import USER_ERRORS

COMMAND_GROUPS = ("pyantctl.labcmd", "pyantctl.get", "pyantctl.trace")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyantctl", description="The pyantrea command line.", allow_abbrev=False
    )
    subparsers = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for module in COMMAND_GROUPS:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
    except ApiException as error:
        print(describe_api_error(error), file=sys.stderr)
    except urllib3.exceptions.HTTPError as error:
        print(
            f"error: the lab's API server does not answer ({error}); see `pyantctl lab status`",
            file=sys.stderr,
        )
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
