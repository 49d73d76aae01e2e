# cython: language_level=3
"""SharedMatches: the conjunctive match flows of one clause kind in one rule table.

Each match is one flow carrying the conjunction() action of every conjunction that uses it
(Antrea's `conjMatchFlowContext`): adding or removing a conjunction's action marks only that
match, and `flush` rebuilds only the marked flows. A policy of 25,000 peer addresses passes
through here once per address, so the loops are compiled, and flows are assembled directly
(their table, priority and conjunction() actions are valid by construction) instead of through
`Flow(...)`'s checks. Actions are kept by conj_id and written in conj_id order, so equal action
sets make equal flows.
"""

from fastpath._flow cimport Flow
from fastpath._match cimport Match

from agent.openflow.pipeline import PRIORITY_NORMAL as _PRIORITY_NORMAL

cdef int PRIORITY_NORMAL = _PRIORITY_NORMAL


cdef class SharedMatches:
    """The match flows of one clause kind in table `table` at `priority`, by match key.

    `build_match(key)` makes the match of a key, once per flow's life; `cookie` is every
    flow's cookie. A NetworkPolicy rule's clauses are at PRIORITY_NORMAL; a tiered rule's at its
    own priority (every clause of a conjunction must share one).
    """

    cdef int _table
    cdef int _priority
    cdef object _build_match
    cdef unsigned long long _cookie
    cdef dict _actions
    cdef dict _matches
    cdef set _dirty

    def __init__(self, int table, build_match, unsigned long long cookie, int priority=PRIORITY_NORMAL):
        if not 0 <= table <= 254:
            raise ValueError(f"table {table} is out of range 0-254")
        if not 0 <= priority <= 65535:
            raise ValueError(f"priority {priority} is out of range 0-65535")
        self._table = table
        self._priority = priority
        self._build_match = build_match
        self._cookie = cookie
        self._actions = {}
        self._matches = {}
        self._dirty = set()

    def add(self, keys, action):
        """Give every match of `keys` the conjunction() `action`."""
        cdef object conj_id = action.id
        cdef dict table = self._actions
        cdef dict actions
        for key in keys:
            actions = table.get(key)
            if actions is None:
                table[key] = {conj_id: action}
            else:
                actions[conj_id] = action
        self._dirty.update(keys)

    def remove(self, keys, conj_id):
        """Take conjunction `conj_id`'s action off every match of `keys`."""
        cdef dict table = self._actions
        for key in keys:
            del (<dict>table[key])[conj_id]
        self._dirty.update(keys)

    def flush(self, list put, list remove):
        """Append the marked matches' flows to `put`, the identities of those left without any
        action to `remove`, and unmark them."""
        cdef dict all_actions = self._actions, matches = self._matches
        cdef dict actions
        cdef object match
        for key in self._dirty:
            actions = all_actions.get(key)
            if actions:
                match = matches.get(key)
                if match is None:
                    match = self._build_match(key)
                    if not isinstance(match, Match):
                        raise TypeError(f"build_match({key!r}) returned {match!r}, not a Match")
                    matches[key] = match
                put.append(self._flow(<Match>match, actions))
            else:
                all_actions.pop(key, None)
                match = matches.pop(key, None)
                if match is not None:
                    remove.append((self._table, self._priority, match))
        self._dirty = set()

    def flows(self):
        """Every flow, as the last `flush` made them."""
        cdef dict matches = self._matches
        return [self._flow(<Match>matches[key], actions) for key, actions in self._actions.items()]

    def __len__(self):
        return len(self._matches)

    cdef Flow _flow(self, Match match, dict actions):
        cdef Flow flow = Flow.__new__(Flow)
        flow.table = self._table
        flow.priority = self._priority
        flow.match = match
        flow.cookie = self._cookie
        if len(actions) == 1:
            flow.actions = tuple(actions.values())
        else:
            flow.actions = tuple([actions[conj_id] for conj_id in sorted(actions)])
        flow._finish()
        return flow
