"""The table-miss flow of every table: drop, or resubmit to the next table of the pipeline."""

from __future__ import annotations

from agent.openflow.pipeline import PRIORITY_MISS, Miss, Pipeline
from fastpath import Flow, Match
from fastpath import actions as A


def table_miss_flows(pipeline: Pipeline, *, cookie: int) -> list[Flow]:
    flows = []
    for table in pipeline:
        actions = [A.Resubmit(pipeline.next(table).id)] if table.miss is Miss.NEXT else []
        flows.append(Flow(table.id, PRIORITY_MISS, Match(), actions, cookie))
    return flows
