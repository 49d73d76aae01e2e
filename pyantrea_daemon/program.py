"""The command line every pyantrea program shares: `--config FILE`, a flag per config key, `--log-level`.

    def main() -> None:
        config, args = parse_command_line("pyantrea-agent", __doc__, AgentConfig, DEFAULT_CONFIG)
        setup_logging(component="agent", node=config.node_name, level=args.log_level)
        sys.exit(run(agent_main(config), logger=log))

A bad configuration (file or flag) ends the program with status 2 and a message naming the key.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeVar

from pyantrea_config.errors import ConfigError
from pyantrea_config.flags import add_config_flags, config_from_args
from pyantrea_daemon.logs import add_logging_flags

T = TypeVar("T")


def parse_command_line(
    prog: str, doc: str | None, schema: type[T], default_file: Path
) -> tuple[T, argparse.Namespace]:
    """The program's configuration and parsed arguments; `default_file` is read when it exists."""
    parser = argparse.ArgumentParser(prog=prog, description=(doc or "").split("\n\n")[0], allow_abbrev=False)
    add_logging_flags(parser)
    add_config_flags(parser, schema, default_file=default_file if default_file.exists() else None)
    args = parser.parse_args()
    try:
        return config_from_args(schema, args), args
    except ConfigError as error:
        parser.error(str(error))
