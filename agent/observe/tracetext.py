"""Reading `ovs-appctl ofproto/trace` output: the flows a packet met, table by table.

The output is one section per pass through the bridge: the first, then one per recirculation
(each `ct(table=N)` resumes the packet in table N with the conntrack state `--ct-next` gives,
by default `trk,new`)::

    Flow: tcp,in_port=3,...                              the packet entering this pass
    bridge("br-int")
    ----------------
     0. in_port=3, priority 190, cookie 0x1030000000003  a flow: table, match, priority, cookie
        set_field:0x3/0xf->reg0                          its actions, one a line
        resubmit(,10)
         -> output port is 1                             what OVS did (`->` detail, `>>` warning)
    Final flow: ...                                      the packet at the end of the pass
    Datapath actions: ct(zone=65520),recirc(0x1)

Nothing here runs OVS: `parse(text)` takes the text and returns values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_STEP = re.compile(r"^\s*(\d+)\. (?:(.*?), )?priority (\d+)(?:, cookie (0x[0-9a-f]+))?$")
_NO_MATCH = re.compile(r"^\s*(\d+)\. No match\.?$")
_DETAIL = ("-> ", ">> ")


class TraceFormatError(ValueError):
    """The text is not ofproto/trace output."""


@dataclass(frozen=True, slots=True)
class Step:
    """One flow the packet matched (or a table it missed: `priority` None)."""

    table: int
    match: str
    """The flow's match as OVS prints it (empty for a catch-all flow)."""
    priority: int | None
    cookie: int | None
    actions: tuple[str, ...]
    notes: tuple[str, ...]
    """What OVS reports about the actions (`output port is 1`, warnings), without the arrows."""

    @property
    def drops(self) -> bool:
        """Whether this flow ends the packet: it has no action but `drop` and forks nothing."""
        return self.actions == ("drop",) and not any(n.startswith("A clone") for n in self.notes)

    def match_field(self, name: str) -> str | None:
        """The value the match gives `name` (`reg1` -> `0x3`), None when it does not match it."""
        return fields(self.match).get(name)


@dataclass(frozen=True, slots=True)
class Section:
    """One pass through the bridge."""

    flow: str
    steps: tuple[Step, ...]
    final_flow: str
    """The packet at the end of the pass (`flow` again when OVS says `unchanged`)."""
    datapath_actions: str


@dataclass(frozen=True, slots=True)
class Trace:
    sections: tuple[Section, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every step of every pass, in order."""
        return tuple(step for section in self.sections for step in section.steps)

    @property
    def last(self) -> Section:
        return self.sections[-1]


def fields(flow: str) -> dict[str, str]:
    """The `key=value` fields of a flow or match as OVS prints it (bare words like `tcp` map to '')."""
    result = {}
    for part in flow.split(","):
        key, _, value = part.strip().partition("=")
        if key:
            result[key] = value
    return result


@dataclass(slots=True)
class _OpenStep:
    """The step being read: its flow line is done, its action lines follow."""

    table: int
    match: str
    priority: int | None
    cookie: int | None
    actions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def done(self) -> Step:
        actions, notes = tuple(self.actions), tuple(self.notes)
        return Step(self.table, self.match, self.priority, self.cookie, actions, notes)


def _flow_line(line: str) -> _OpenStep | None:
    """The step a table line starts, or None for any other line."""
    step = _STEP.match(line)
    if step is not None:
        table, match, priority, cookie = step.groups()
        return _OpenStep(int(table), match or "", int(priority), int(cookie, 16) if cookie else None)
    missed = _NO_MATCH.match(line)
    if missed is not None:
        return _OpenStep(int(missed.group(1)), "", None, None)
    return None


def parse(text: str) -> Trace:
    """The sections of ofproto/trace output; raises TraceFormatError for other text."""
    sections: list[Section] = []
    flow: str | None = None
    steps: list[Step] = []
    final = ""
    current: _OpenStep | None = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Flow: "):
            flow, steps, final, current = stripped.removeprefix("Flow: "), [], "", None
            continue
        if flow is None:
            continue
        if stripped.startswith(("Final flow: ", "Datapath actions: ")) and current is not None:
            steps.append(current.done())
            current = None
        if stripped.startswith("Final flow: "):
            final = stripped.removeprefix("Final flow: ")
        elif stripped.startswith("Datapath actions: "):
            final_flow = flow if final in ("", "unchanged") else final
            actions = stripped.removeprefix("Datapath actions: ")
            sections.append(Section(flow, tuple(steps), final_flow, actions))
            flow = None
        elif (opened := _flow_line(line)) is not None:
            if current is not None:
                steps.append(current.done())
            current = opened
        elif current is not None and stripped:
            if stripped.startswith(_DETAIL):
                current.notes.append(stripped[3:])
            else:
                current.actions.append(stripped)
    if not sections:
        raise TraceFormatError(f"not ofproto/trace output: {text.strip()[:200]!r}")
    return Trace(tuple(sections))
