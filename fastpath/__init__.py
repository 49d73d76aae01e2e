"""The fast path: flow model, flow diff engine and OpenFlow 1.5 encoding (Cython).

    from fastpath import Flow, Match, actions as A, diff_flows
    flow = Flow(90, 200, Match(ip=True, nw_src="10.0.0.1"), [A.Conjunction(2, 1, 2)])

Modules: `fields` (the match field table), `_match`/`_actions`/`_flow` (the immutable values),
`_group` (select groups and their bucket-splitting group mods), `_diff` (the Cython diff
engine for flows and groups; `diff_reference` is its plain-Python specification),
`_messages` (encoding), `decode` (replies), `text` (ovs-ofctl syntax), `connection` (asyncio
OpenFlow connection with atomic bundles).
"""

from fastpath import _actions as actions
from fastpath._actions import ActionError
from fastpath._diff import DuplicateFlowError, DuplicateGroupError, diff_flows, diff_groups
from fastpath._flow import Flow, FlowError
from fastpath._group import Bucket, Group, GroupError
from fastpath._match import Match, MatchError, parse_ipv4, parse_mac, prefix_mask
from fastpath.text import (
    ParseError,
    parse_dump,
    parse_flow,
    parse_group,
    parse_match,
    render_flow,
    render_group,
)

__all__ = [
    "ActionError",
    "Bucket",
    "DuplicateFlowError",
    "DuplicateGroupError",
    "Flow",
    "FlowError",
    "Group",
    "GroupError",
    "Match",
    "MatchError",
    "ParseError",
    "actions",
    "diff_flows",
    "diff_groups",
    "parse_dump",
    "parse_flow",
    "parse_group",
    "parse_ipv4",
    "parse_mac",
    "parse_match",
    "prefix_mask",
    "render_flow",
    "render_group",
]
