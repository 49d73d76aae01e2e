"""The README's Performance table is the one generated from the latest committed benchmark result."""

from __future__ import annotations

from bench import readme


def test_readme_table_matches_the_latest_result() -> None:
    current = readme.README.read_text()
    assert readme.rewritten(current, readme.table()) == current, (
        "README.md's Performance table is stale: run `python -m bench.readme`"
    )
