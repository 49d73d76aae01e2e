"""The fastest flow diff in plain Python: the baseline the Cython engine is measured against.

`diff_reference` is the specification, written for clarity (it asks each flow for its identity
several times). This one does what a careful Python programmer would: each identity computed
once, one dictionary of installed flows by identity (in installed order, so deletes come out in
order), one set of desired identities, duplicates detected by sizes, unchanged flows that are
the very same object skipped without comparing, and the others compared with the flow model's
own equality (identities being equal, it compares cookie and actions). It returns exactly what
the reference returns, errors included; `tests/fastpath/test_diff.py` holds it to that.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastpath._diff import DuplicateFlowError
from fastpath._flow import Flow


def diff_flows_plain(
    desired: Iterable[Flow], installed: Iterable[Flow]
) -> tuple[list[Flow], list[Flow], list[Flow]]:
    """(adds, modifies, deletes) in input order; see `fastpath.diff_flows`."""
    installed = installed if type(installed) is list else list(installed)
    desired = desired if type(desired) is list else list(desired)
    installed_keys = [flow.key for flow in installed]
    by_key = dict(zip(installed_keys, installed, strict=True))
    if len(by_key) != len(installed):
        _refuse_duplicates("installed", installed, installed_keys)
    desired_keys = [flow.key for flow in desired]
    wanted = set(desired_keys)
    if len(wanted) != len(desired):
        _refuse_duplicates("desired", desired, desired_keys)
    adds: list[Flow] = []
    modifies: list[Flow] = []
    get = by_key.get
    for flow, key in zip(desired, desired_keys, strict=True):
        old = get(key)
        if old is None:
            adds.append(flow)
        elif old is not flow and old != flow:
            modifies.append(flow)
    if len(wanted) - len(adds) == len(by_key):
        return adds, modifies, []
    deletes = [flow for key, flow in by_key.items() if key not in wanted]
    return adds, modifies, deletes


def _refuse_duplicates(side: str, flows: list[Flow], keys: list[tuple]) -> None:
    seen: set[tuple] = set()
    for flow, key in zip(flows, keys, strict=True):
        if key in seen:
            raise DuplicateFlowError(f"{side} flows share an identity: {flow}")
        seen.add(key)
