"""Which objects of one kind each node must see, indexed through interned spans.

Many objects share one span (every policy of an AppliedToGroup has its span; 10,000 policies
selecting every pod all span every node), so the index maps node -> distinct spans -> objects.
Its size is the sum of the distinct spans' sizes plus one entry per object, never objects x
nodes, and moving an object between existing spans costs O(1).

The node level is built on the first lookup and kept up to date from then on, so a bulk load
that no watcher has looked at yet pays only for the span level.
"""

from __future__ import annotations

from collections.abc import Iterator

from controlplane.compute.changes import Span


class SpanIndex:
    """Interns spans and finds the objects whose span holds a node."""

    def __init__(self) -> None:
        self._interned: dict[Span, Span] = {}
        """Each distinct span in use, mapped to its shared copy."""
        self._holders: dict[Span, set[str]] = {}
        """The objects of each distinct span."""
        self._by_node: dict[str, set[Span]] | None = None
        """The spans holding each node; None until the first lookup."""

    def move(self, name: str, old: Span, new: Span) -> Span:
        """Moves object `name` from span `old` to `new`; returns the interned `new`."""
        holders = self._holders
        if old:
            names = holders[old]
            names.discard(name)
            if not names:
                del holders[old]
                del self._interned[old]
                if self._by_node is not None:
                    self._unindex(old, self._by_node)
        if not new:
            return new
        interned = self._interned.get(new)
        if interned is not None:
            holders[interned].add(name)
            return interned
        self._interned[new] = new
        holders[new] = {name}
        if self._by_node is not None:
            self._index(new, self._by_node)
        return new

    def names_for(self, node: str) -> Iterator[str]:
        """Names of the objects whose span holds `node`."""
        by_node = self._by_node
        if by_node is None:
            by_node = self._by_node = {}
            for span in self._holders:
                self._index(span, by_node)
        for span in by_node.get(node, ()):
            yield from self._holders[span]

    @staticmethod
    def _index(span: Span, by_node: dict[str, set[Span]]) -> None:
        for node in span:
            spans = by_node.get(node)
            if spans is None:
                by_node[node] = {span}
            else:
                spans.add(span)

    @staticmethod
    def _unindex(span: Span, by_node: dict[str, set[Span]]) -> None:
        for node in span:
            spans = by_node[node]
            spans.discard(span)
            if not spans:
                del by_node[node]
