"""Print the figures of a pytest-benchmark JSON file (`--benchmark-json`) as a Markdown table.

    python -m bench.report artifacts/bench.json

One row per benchmark: its best and median time and what it recorded in extra_info (ratios
against same-run baselines, percentiles, peak memory), which is where the issues' targets live.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _row(bench: dict) -> str:
    stats = bench["stats"]
    extra = ", ".join(f"{key}={value}" for key, value in sorted(bench.get("extra_info", {}).items()))
    return f"| `{bench['name']}` | {stats['min'] * 1e3:.2f} | {stats['median'] * 1e3:.2f} | {extra} |"


def report(path: Path) -> str:
    data = json.loads(path.read_text())
    lines = ["| benchmark | min ms | median ms | figures |", "| --- | --- | --- | --- |"]
    lines += [_row(bench) for bench in sorted(data["benchmarks"], key=lambda b: b["fullname"])]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Path(sys.argv[1])))
