"""The README's Performance table, generated from the latest committed result.

    python -m bench.readme          # rewrite the table between the markers in README.md
    python -m bench.readme --check  # exit 1 if the README's table is not the generated one

The table sits between `<!-- bench-results:begin -->` and `<!-- bench-results:end -->`;
`bench/test_readme_table.py` fails when it is stale against `bench/results/`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.results import latest, markdown

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- bench-results:begin -->"
END = "<!-- bench-results:end -->"


def table(result: Path | None = None) -> str:
    """The generated section (without the markers) for `result`, the latest one by default."""
    path = result or latest()
    note = f"From `bench/results/{path.name}` (regenerate with `python -m bench.readme`).\n\n"
    return note + markdown(json.loads(path.read_text()))


def rewritten(readme: str, section: str) -> str:
    """`readme` with the text between the markers replaced by `section`."""
    head, begin, rest = readme.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"README.md has no {BEGIN} ... {END} section")
    return f"{head}{BEGIN}\n{section}{END}{tail}"


def main(argv: list[str]) -> int:
    current = README.read_text()
    wanted = rewritten(current, table())
    if "--check" in argv:
        return 0 if wanted == current else 1
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
