"""`pyantctl lab probe`: every pod probes every pod, all at once, and the answers form a matrix.

One prober process per source pod runs inside that pod's network namespace (lab.prober) and
probes all targets concurrently; the probers themselves run concurrently, so a probe of n pods
takes about one timeout however large n is. The matrix prints in the style of the upstream
Kubernetes NetworkPolicy e2e truth tables (`.` reachable, `X` not; rows are sources, columns
destinations) or as JSON: `{"pods": [...], "reachable": {"ns/a": {"ns/b": true, ...}, ...}}`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.tables import format_table

Matrix = dict[str, dict[str, bool]]


class ProbeError(Exception):
    """A prober could not run (its pod's namespace is gone, say)."""


@dataclass(frozen=True, slots=True)
class ProbePod:
    pod: str
    """namespace/name"""
    ip: str
    netns: str


async def _probe_from(
    source: ProbePod, targets: Sequence[ProbePod], protocol: str, port: int, timeout: float
) -> dict[str, bool]:
    process = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", source.netns, sys.executable, "-m", "lab.prober",
        "--protocol", protocol, "--port", str(port), "--timeout", str(timeout),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdin = json.dumps([{"pod": t.pod, "ip": t.ip} for t in targets]).encode()
    stdout, stderr = await process.communicate(stdin)
    if process.returncode != 0:
        raise ProbeError(
            f"probing from {source.pod} failed: {stderr.decode(errors='replace').strip()[-500:]}"
        )
    return json.loads(stdout)


async def _probe(pods: Sequence[ProbePod], protocol: str, port: int, timeout: float) -> Matrix:
    rows = await asyncio.gather(*(_probe_from(source, pods, protocol, port, timeout) for source in pods))
    return {source.pod: row for source, row in zip(pods, rows, strict=True)}


def probe(pods: Sequence[ProbePod], *, protocol: str, port: int, timeout: float) -> Matrix:
    """Probe every pod from every pod; `reachable[a][b]`: a reached b and b answered as itself."""
    return asyncio.run(_probe(pods, protocol, port, timeout))


def truth_table(pods: Sequence[str], reachable: Mapping[str, Mapping[str, bool]]) -> str:
    rows = [["-", *pods]]
    rows += [[source, *("." if reachable[source][target] else "X" for target in pods)] for source in pods]
    return format_table(rows)


def as_json(pods: Sequence[str], reachable: Matrix) -> str:
    return json.dumps({"pods": list(pods), "reachable": reachable}, indent=2)
