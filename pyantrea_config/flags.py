"""Command-line flags for a configuration schema: ``--config FILE`` and one flag per key.

Every key is also a flag of the same (dotted, camelCase) name, and a flag wins over the file:
``pyantrea-agent --config agent.conf --tunnelType=geneve --flowExport.enable=true``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from pyantrea_config.loader import load_document, load_file
from pyantrea_config.schema import leaves

T = TypeVar("T")

_DEST_PREFIX = "config key "


def add_config_flags(
    parser: argparse.ArgumentParser, schema: type, *, default_file: Path | None = None
) -> None:
    """Add ``--config`` and a flag for every key of ``schema`` to ``parser``."""
    group = parser.add_argument_group("configuration", "every key of the configuration file; flags win")
    group.add_argument(
        "--config",
        type=Path,
        default=default_file,
        metavar="FILE",
        help="YAML configuration file (default: %(default)s; without one, the defaults and flags apply)",
    )
    for key, entry in leaves(schema).items():
        summary = entry.doc.split(". ")[0].rstrip(".")
        kind = entry.kind
        metavar = "{" + ",".join(kind.choices) + "}" if kind.choices else kind.name.upper().replace(" ", "_")
        group.add_argument(f"--{key}", dest=_DEST_PREFIX + key, metavar=metavar, help=summary)


def config_from_args(
    schema: type[T], args: argparse.Namespace, *, environ: Mapping[str, str] | None = None
) -> T:
    """The configuration ``args`` select: the ``--config`` file (if any) with the key flags on top."""
    overrides = {
        key: value for key in leaves(schema) if (value := getattr(args, _DEST_PREFIX + key, None)) is not None
    }
    environ = os.environ if environ is None else environ
    if args.config is None:
        return load_document(schema, None, overrides=overrides, environ=environ)
    return load_file(schema, args.config, overrides=overrides, environ=environ)
