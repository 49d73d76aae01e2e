"""A benchmark run's figures as a dated, committed result: `bench/results/YYYY-MM-DD.json` and `.md`.

    python -m bench.results artifacts/bench.json
    python -m bench.results --merge artifacts/one-benchmark.json

reads pytest-benchmark's JSON (`--benchmark-json`), keeps every figure the benchmarks recorded
(`bench.targets`: what, value, unit, target, whether it was met, the load average when it was
taken) with the machine and the commit measured, writes both files for today (UTC) and prints
the Markdown. `scripts/bench.sh` runs it after every full run; the README's Performance table
is generated from the latest result (`bench.readme`). `--merge` folds a run of some benchmarks
into the latest result instead: their figures replace those benchmarks' figures, each keeping
the date and commit it was measured at, and the rest stay as they were.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def figures(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Every recorded figure of a pytest-benchmark run, in benchmark order."""
    rows = []
    for bench in sorted(run["benchmarks"], key=lambda b: b["fullname"]):
        module = bench["fullname"].split("::")[0]
        for key, figure in bench.get("extra_info", {}).get("figures", {}).items():
            rows.append({"benchmark": f"{module}::{bench['name']}", "figure": key, **figure})
    return rows


def result(run: dict[str, Any], commit: str) -> dict[str, Any]:
    machine = run.get("machine_info", {})
    return {
        "date": run.get("datetime", datetime.datetime.now(datetime.UTC).isoformat()),
        "commit": commit,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": machine.get("cpu", {}).get("brand_raw") or platform.processor(),
            "python": machine.get("python_version") or platform.python_version(),
        },
        "figures": figures(run),
    }


def _value(figure: dict[str, Any]) -> str:
    value = figure["value"]
    return f"{value:g} {figure['unit']}" if isinstance(value, int | float) else f"{value} {figure['unit']}"


def _target(figure: dict[str, Any]) -> str:
    if "target" not in figure:
        return ""
    mark = "met" if figure["met"] else "**missed**"
    return f"{figure['target']} {figure['unit']} ({mark})"


def markdown(data: dict[str, Any]) -> str:
    """The result as a Markdown table, one row per figure."""
    machine = data["machine"]
    lines = [
        f"Measured {data['date'][:16].replace('T', ' ')} UTC at commit `{data['commit']}` on "
        f"{machine['cpus']} CPUs ({machine['processor']}), Python {machine['python']}; load is the "
        "1-minute load average when the figure was taken.",
        "",
        "| what | measured | target | load | benchmark |",
        "| --- | --- | --- | --- | --- |",
    ]
    merged = sorted({(f["benchmark"], f["date"][:16], f["commit"]) for f in data["figures"] if "commit" in f})
    for benchmark, date, commit in merged:
        lines.insert(1, f"`{benchmark}` was measured {date.replace('T', ' ')} UTC at commit `{commit}`.")
    if merged:
        lines.insert(1, "")
    for figure in data["figures"]:
        lines.append(
            f"| {figure['what']} | {_value(figure)} | {_target(figure)} | {figure['load']:g} "
            f"| `{figure['benchmark']}` |"
        )
    return "\n".join(lines) + "\n"


def latest(directory: Path = RESULTS) -> Path:
    """The newest committed result (dated names sort by date)."""
    found = sorted(directory.glob("*.json"))
    if not found:
        raise FileNotFoundError(f"no result in {directory}")
    return found[-1]


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=RESULTS.parent,
    )
    return done.stdout.strip() or "unknown"


def merge(base: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    """`base` with the figures of `run`'s benchmarks replaced by `run`'s, dated and attributed."""
    replaced = {figure["benchmark"] for figure in run["figures"]}
    kept = [figure for figure in base["figures"] if figure["benchmark"] not in replaced]
    new = [{**figure, "date": run["date"], "commit": run["commit"]} for figure in run["figures"]]
    return {**base, "figures": sorted(kept + new, key=lambda figure: figure["benchmark"])}


def main(path: Path, *, into_latest: bool = False) -> None:
    data = result(json.loads(path.read_text()), _commit())
    RESULTS.mkdir(exist_ok=True)
    if into_latest:
        base_path = latest()
        data = merge(json.loads(base_path.read_text()), data)
        day = base_path.stem
    else:
        day = data["date"][:10]
    (RESULTS / f"{day}.json").write_text(json.dumps(data, indent=1) + "\n")
    text = markdown(data)
    (RESULTS / f"{day}.md").write_text(f"# Benchmark results {day}\n\n{text}")
    print(text)


if __name__ == "__main__":
    main(Path(sys.argv[-1]), into_latest="--merge" in sys.argv[1:-1])
