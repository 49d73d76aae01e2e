"""Which objects of one kind each node must see, indexed through interned spans.

Many objects share one span (every policy of an AppliedToGroup has its span; 10,000 policies
selecting every pod all span every node), so the index maps node -> distinct spans -> objects.
Its size is the sum of the distinct spans' sizes plus one entry per object, never objects x
nodes, and moving an object between existing spans costs O(1).
"""

from __future__ import annotations

from collections.abc import Iterator

from controlplane.compute.changes import Span


class SpanIndex:
    """Interns spans and finds the objects whose span holds a node."""

    def __init__(self) -> None:
        self._holders: dict[Span, set[str]] = {}
        self._spans: dict[Span, Span] = {}
        self._by_node: dict[str, set[Span]] = {}

    def intern(self, span: Span) -> Span:
        """The shared frozenset equal to `span`."""
        return self._spans.get(span, span)

    def move(self, name: str, old: Span, new: Span) -> Span:
        """Moves object `name` from span `old` to `new`; returns the interned `new`."""
        if old:
            holders = self._holders[old]
            holders.discard(name)
            if not holders:
                del self._holders[old]
                del self._spans[old]
                for node in old:
                    spans = self._by_node[node]
                    spans.discard(old)
                    if not spans:
                        del self._by_node[node]
        if not new:
            return new
        interned = self._spans.get(new)
        if interned is None:
            interned = self._spans[new] = new
            self._holders[new] = {name}
            for node in new:
                spans = self._by_node.get(node)
                if spans is None:
                    spans = self._by_node[node] = set()
                spans.add(new)
        else:
            self._holders[interned].add(name)
        return interned

    def names_for(self, node: str) -> Iterator[str]:
        """Names of the objects whose span holds `node`."""
        for span in self._by_node.get(node, ()):
            yield from self._holders[span]
