"""The table-miss flow of every table: drop, or resubmit to the next table of the pipeline."""

from __future__ import annotations

from agent.openflow.pipeline import PRIORITY_MISS, Miss, Pipeline
from fastpath import Flow, Match
from fastpath import actions as A


def table_miss_flows(pipeline: Pipeline, *, cookie: int) -> list[Flow]:
    flows = []
    for table in pipeline:
        if table.miss is Miss.DROP:
            actions = []
        else:
            actions = [A.Resubmit(t) for t in table.then or (pipeline.next(table).id,)]
        flows.append(Flow(table.id, PRIORITY_MISS, Match(), actions, cookie))
    return flows
