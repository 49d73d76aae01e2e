"""Runs one scenario in a fresh interpreter and reports its peak resident memory.

A process forked from pytest starts at pytest's peak: `ru_maxrss` even survives `exec`, as
Linux carries the pre-exec high-water mark over. So a scenario runs in a new interpreter
(`subprocess`, which execs: a fresh address space) that imports only the scenario's module,
and its peak is `VmHWM` from `/proc/self/status`, which belongs to the current address space.

    python -m bench.isolated bench.test_controlplane_sync:measure '[]'

prints the scenario's JSON figures with `peak_rss_mb` (VmHWM at the end) and `imports_rss_mb`
(VmRSS once the scenario's module is imported, before it runs) added.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def status_mb(field: str) -> float:
    """A memory field of /proc/self/status (VmHWM, VmRSS, ...) in MB (10^6 bytes)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise LookupError(f"no {field} in /proc/self/status")


def run(target: str, *args: Any, timeout: float = 600.0) -> dict[str, Any]:
    """Calls `module:function(*args)` in a fresh interpreter; its JSON figures with memory added."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.isolated", target, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{target} failed in its own process:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _main(target: str, args: str) -> None:
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    imports_mb = status_mb("VmRSS")
    figures = dict(function(*json.loads(args)))
    figures["peak_rss_mb"] = round(status_mb("VmHWM"), 1)
    figures["imports_rss_mb"] = round(imports_mb, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    _main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "[]")
