# cython: language_level=3
"""Flow: an immutable OpenFlow flow (table, priority, match, actions, cookie).

A flow's identity is (table, priority, match): Open vSwitch keeps at most one flow per identity,
so the diff engine pairs desired and installed flows by it, and a flow whose actions or cookie
differ from the installed one with the same identity is a modify. Both halves are hashed once,
at construction, so diffing large flow sets never rehashes matches or actions.
"""

cimport cython
from fastpath._actions cimport Action, Drop, GotoTable
from fastpath._match cimport Match
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from fastpath._wire cimport copy_bytes, put_u16, put_u8, same_bytes, zero

MAX_PRIORITY = 0xFFFF
MAX_COOKIE = 0xFFFFFFFFFFFFFFFF


class FlowError(ValueError):
    """A flow that cannot be installed; the message names what is wrong."""


@cython.no_gc
cdef class Flow:
    """One flow. `actions` is a sequence of actions; an empty one (or `Drop()`) drops."""

    def __init__(self, int table, int priority, Match match not None, actions=(), cookie=0):
        if not 0 <= table <= 254:
            raise FlowError(f"table {table} is out of range 0-254")
        if not 0 <= priority <= MAX_PRIORITY:
            raise FlowError(f"priority {priority} is out of range 0-{MAX_PRIORITY}")
        if not 0 <= cookie <= MAX_COOKIE:
            raise FlowError(f"cookie {cookie:#x} does not fit in 64 bits")
        self.table = table
        self.priority = priority
        self.match = match
        self.cookie = cookie
        self.actions = _canonical_actions(actions)
        self._finish()

    cdef _finish(self):
        cdef Py_ssize_t n = 0
        for a in self.actions:
            if not isinstance(a, GotoTable):
                n += (<Action>a).wire_len()
        self._apply_len = n
        # Instructions are encoded once, like the match: the encoder copies them and the diff
        # engine compares them instead of walking action objects.
        self._instructions = PyBytes_FromStringAndSize(NULL, self.instructions_len())
        self._encode_instructions(<unsigned char*>PyBytes_AS_STRING(self._instructions))
        self._key_oxm = self.match._oxm
        self.key_hash = hash((self.table, self.priority, self.match))
        self.body_hash = hash((self.cookie, self._instructions))

    @property
    def key(self):
        """The flow's identity: (table, priority, match)."""
        return (self.table, self.priority, self.match)

    def with_cookie(self, cookie):
        return Flow(self.table, self.priority, self.match, self.actions, cookie)

    def with_actions(self, actions):
        return Flow(self.table, self.priority, self.match, actions, self.cookie)

    cdef bint same_key(self, Flow other):
        return (
            self.key_hash == other.key_hash
            and self.table == other.table
            and self.priority == other.priority
            and same_bytes(self._key_oxm, other._key_oxm)
        )

    cdef bint same_body(self, Flow other):
        return (
            self.cookie == other.cookie
            and self.body_hash == other.body_hash
            and same_bytes(self._instructions, other._instructions)
        )

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, Flow):
            return NotImplemented
        return self.same_key(other) and self.same_body(other)

    def __hash__(self):
        return hash((self.key_hash, self.body_hash))

    def __reduce__(self):
        return (Flow, (self.table, self.priority, self.match, self.actions, self.cookie))

    def __str__(self):
        from fastpath.text import render_flow

        return render_flow(self)

    def __repr__(self):
        return f"Flow({str(self)!r})"

    cdef Py_ssize_t instructions_len(self) noexcept:
        cdef Py_ssize_t n = 8 + self._apply_len if self._apply_len else 0
        if self.actions and isinstance(self.actions[-1], GotoTable):
            n += 8
        return n

    cdef Py_ssize_t write_instructions(self, unsigned char* p) except -1:
        return copy_bytes(p, self._instructions)

    cdef Py_ssize_t _encode_instructions(self, unsigned char* p) except -1:
        """OFPIT_APPLY_ACTIONS with every action, then OFPIT_GOTO_TABLE if the flow ends with one."""
        cdef Py_ssize_t off = 0
        if self._apply_len:
            put_u16(p, 4)  # OFPIT_APPLY_ACTIONS
            put_u16(p + 2, 8 + self._apply_len)
            zero(p + 4, 4)
            off = 8
            for a in self.actions:
                if not isinstance(a, GotoTable):
                    off += (<Action>a).write(p + off)
        if self.actions and isinstance(self.actions[-1], GotoTable):
            off += (<Action>self.actions[-1]).write(p + off)
        return off


cdef tuple _canonical_actions(object actions):
    cdef tuple result = actions if type(actions) is tuple else tuple(actions)
    cdef Py_ssize_t i, n = len(result)
    cdef bint has_drop = False
    for i in range(n):
        a = result[i]
        if not isinstance(a, Action):
            raise FlowError(f"action {a!r} is not an Action")
        if isinstance(a, Drop):
            has_drop = True
        elif isinstance(a, GotoTable) and i != n - 1:
            raise FlowError("goto_table must be the last action")
    if has_drop:
        if n > 1:
            raise FlowError("drop must not be accompanied by any other action")
        return ()
    return result
