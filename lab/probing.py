"""`pyantctl lab probe`: every pod probes every pod, all at once, and the answers form a matrix.

One prober process per source pod runs inside that pod's network namespace (lab.prober) and
probes all targets concurrently; the probers themselves run concurrently, so a probe of n pods
takes about one timeout however large n is. Each probe ends in a verdict: reachable, refused
(nothing listens: a reset or an ICMP unreachable came back), dropped (no answer before the
timeout) or wrong (another pod answered). The matrix prints in the style of the upstream
Kubernetes NetworkPolicy e2e truth tables (rows are sources, columns destinations; `.`
reachable, `X` dropped, and marks of their own for the other verdicts, explained under the
table) or as JSON: `{"pods": [...], "reachable": {"ns/a": {"ns/b": true, ...}, ...},
"verdicts": {"ns/a": {"ns/b": "reachable", ...}, ...}}`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lab.prober import Verdict
from pyantrea_kube.printing import format_table

Matrix = dict[str, dict[str, Verdict]]
"""source pod -> target pod -> verdict"""

MARKS = {Verdict.REACHABLE: ".", Verdict.DROPPED: "X", Verdict.REFUSED: "R", Verdict.WRONG: "?"}
_MEANINGS = {
    Verdict.REACHABLE: "reachable",
    Verdict.DROPPED: "dropped (no answer before the timeout)",
    Verdict.REFUSED: "refused (nothing listens: a reset or ICMP unreachable came back)",
    Verdict.WRONG: "another pod answered",
}


class ProbeError(Exception):
    """A prober could not run (its pod's namespace is gone, say)."""


@dataclass(frozen=True, slots=True)
class ProbePod:
    pod: str
    """namespace/name"""
    ip: str
    netns: str


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """Something other than a pod to probe: a Service's ClusterIP and port, answered by any of
    its endpoints (`answers`; none: any answer is another pod's, `wrong`)."""

    key: str
    ip: str
    port: int
    answers: tuple[str, ...] = field(default=())


async def _probe_from(
    source: ProbePod, targets: Sequence[ProbePod | ProbeTarget], protocol: str, port: int, timeout: float
) -> dict[str, Verdict]:
    process = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", source.netns, sys.executable, "-m", "lab.prober",
        "--protocol", protocol, "--port", str(port), "--timeout", str(timeout),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdin = json.dumps([_target(t) for t in targets]).encode()
    stdout, stderr = await process.communicate(stdin)
    if process.returncode != 0:
        raise ProbeError(
            f"probing from {source.pod} failed: {stderr.decode(errors='replace').strip()[-500:]}"
        )
    return {pod: Verdict(verdict) for pod, verdict in json.loads(stdout).items()}


def _target(target: ProbePod | ProbeTarget) -> dict[str, object]:
    if isinstance(target, ProbePod):
        return {"pod": target.pod, "ip": target.ip}
    return {"pod": target.key, "ip": target.ip, "port": target.port, "answers": list(target.answers)}


async def _probe(
    sources: Sequence[ProbePod],
    targets: Sequence[ProbePod | ProbeTarget],
    protocol: str,
    port: int,
    timeout: float,
) -> Matrix:
    # Every prober runs to its end even when one fails (a pod deleted meanwhile): a prober left
    # running when the loop closes would be reaped by nobody.
    rows = await asyncio.gather(
        *(_probe_from(source, targets, protocol, port, timeout) for source in sources), return_exceptions=True
    )
    for row in rows:
        if isinstance(row, BaseException):
            raise row
    return {
        source.pod: row
        for source, row in zip(sources, rows, strict=True)
        if not isinstance(row, BaseException)
    }


def probe(pods: Sequence[ProbePod], *, protocol: str, port: int, timeout: float) -> Matrix:
    """Probe every pod from every pod: `verdicts[a][b]` says how a's probe of b ended."""
    return asyncio.run(_probe(pods, pods, protocol, port, timeout))


def probe_targets(
    sources: Sequence[ProbePod], targets: Sequence[ProbeTarget], *, protocol: str, timeout: float
) -> Matrix:
    """Probe `targets`, each on its own port, from every source: `verdicts[source][target.key]`."""
    if not targets:
        return {source.pod: {} for source in sources}
    return asyncio.run(_probe(sources, targets, protocol, targets[0].port, timeout))


def reachable(verdicts: Mapping[str, Mapping[str, Verdict]]) -> dict[str, dict[str, bool]]:
    """`reachable[a][b]`: a reached b and b answered as itself."""
    return {a: {b: v is Verdict.REACHABLE for b, v in row.items()} for a, row in verdicts.items()}


def truth_table(pods: Sequence[str], verdicts: Mapping[str, Mapping[str, Verdict]]) -> str:
    """The matrix with a mark per verdict, and a legend of the marks it uses under it."""
    rows = [["-", *pods]]
    rows += [[source, *(MARKS[verdicts[source][target]] for target in pods)] for source in pods]
    used = {verdict for row in verdicts.values() for verdict in row.values()}
    legend = "   ".join(f"{MARKS[v]} {_MEANINGS[v]}" for v in MARKS if v in used)
    return f"{format_table(rows)}\n\n{legend}"


def as_json(pods: Sequence[str], verdicts: Matrix) -> str:
    document = {"pods": list(pods), "reachable": reachable(verdicts), "verdicts": verdicts}
    return json.dumps(document, indent=2)
