# cython: language_level=3
"""The flow diff engine: desired against installed flows, to minimal adds, modifies, deletes.

Flows are paired by identity (table, priority, match) through an open-addressing table of
(identity hash, installed index, desired index) slots built over the hashes every Flow
computes once when it is built; flows are only dereferenced and fully compared when their
hashes are equal, which keeps the pass cache-friendly at 100k flows. Results come in input
order (adds and modifies in desired order, deletes in installed order), exactly as
`fastpath.diff_reference.diff_flows_reference`, the specification this engine is tested against.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc

from fastpath._flow cimport Flow
from fastpath._group cimport Group


class DuplicateFlowError(ValueError):
    """Two flows of one set share an identity, so the set cannot be installed as given."""


cdef extern from *:
    void __builtin_prefetch(const void* addr) nogil


cdef struct Slot:
    Py_hash_t hash
    int have  # index into installed, or -1
    int want  # index into desired, or -1


# Slots are touched in hash order, so at 100k flows nearly every probe misses the cache;
# prefetching the slot of the flow LOOKAHEAD places ahead keeps several misses in flight.
cdef enum:
    LOOKAHEAD = 8


cdef inline Py_ssize_t _capacity(Py_ssize_t n) noexcept:
    cdef Py_ssize_t cap = 16
    while cap < 2 * n + 1:
        cap <<= 1
    return cap


def diff_flows(desired, installed):
    """(adds, modifies, deletes): the fewest flow mods turning `installed` into `desired`.

    A modify is a desired flow whose identity is installed with other actions or another
    cookie. Raises DuplicateFlowError if either set holds two flows with one identity.
    """
    cdef list want = desired if type(desired) is list else list(desired)
    cdef list have = installed if type(installed) is list else list(installed)
    cdef Py_ssize_t n_have = len(have), n_want = len(want)
    cdef Py_ssize_t cap = _capacity(n_have + n_want), mask = cap - 1
    cdef Slot* table = <Slot*>PyMem_Malloc(cap * sizeof(Slot))
    cdef unsigned char* paired = <unsigned char*>PyMem_Malloc(n_have + 1)
    cdef Py_ssize_t i, s
    cdef Py_hash_t h
    cdef Flow f, g
    cdef list adds = [], modifies = [], deletes = []
    if n_have >= 0x7FFFFFFF or n_want >= 0x7FFFFFFF:
        raise ValueError("too many flows for one diff")
    if table == NULL or paired == NULL:
        PyMem_Free(table)
        PyMem_Free(paired)
        raise MemoryError()
    try:
        for s in range(cap):
            table[s].have = -1
            table[s].want = -1
        for i in range(n_have):
            paired[i] = 0
            if i + LOOKAHEAD < n_have:
                __builtin_prefetch(&table[(<size_t>(<Flow?>have[i + LOOKAHEAD]).key_hash) & mask])
            f = <Flow?>have[i]
            h = f.key_hash
            s = (<size_t>h) & mask
            while table[s].have != -1:
                if table[s].hash == h and (<Flow>have[table[s].have]).same_key(f):
                    raise DuplicateFlowError(f"installed flows share an identity: {f}")
                s = (s + 1) & mask
            table[s].hash = h
            table[s].have = <int>i
        for i in range(n_want):
            if i + LOOKAHEAD < n_want:
                __builtin_prefetch(&table[(<size_t>(<Flow?>want[i + LOOKAHEAD]).key_hash) & mask])
            f = <Flow?>want[i]
            h = f.key_hash
            s = (<size_t>h) & mask
            while True:
                if table[s].have == -1 and table[s].want == -1:
                    table[s].hash = h
                    table[s].want = <int>i
                    adds.append(f)
                    break
                if table[s].hash == h:
                    if table[s].have != -1:
                        g = <Flow>have[table[s].have]
                        if g.same_key(f):
                            if table[s].want != -1:
                                raise DuplicateFlowError(f"desired flows share an identity: {f}")
                            table[s].want = <int>i
                            paired[table[s].have] = 1
                            if not g.same_body(f):
                                modifies.append(f)
                            break
                    elif (<Flow>want[table[s].want]).same_key(f):
                        raise DuplicateFlowError(f"desired flows share an identity: {f}")
                s = (s + 1) & mask
        for i in range(n_have):
            if not paired[i]:
                deletes.append(have[i])
    finally:
        PyMem_Free(table)
        PyMem_Free(paired)
    return adds, modifies, deletes


class DuplicateGroupError(ValueError):
    """Two groups of one set share a group id."""


def diff_groups(desired, installed):
    """(adds, modifies, deletes): the fewest group mods turning `installed` into `desired`.

    Groups are paired by id; a modify is a desired group whose id is installed with another
    type or other buckets. Results come in input order, as `diff_groups_reference` specifies.
    Raises DuplicateGroupError if either set holds two groups with one id.
    """
    cdef dict have = {}
    cdef set seen = set()
    cdef list adds = [], modifies = [], deletes = []
    cdef Group g, old
    for item in installed:
        g = <Group?>item
        if g.group_id in have:
            raise DuplicateGroupError(f"installed groups share id {g.group_id}")
        have[g.group_id] = g
    for item in desired:
        g = <Group?>item
        if g.group_id in seen:
            raise DuplicateGroupError(f"desired groups share id {g.group_id}")
        seen.add(g.group_id)
        found = have.get(g.group_id)
        if found is None:
            adds.append(g)
        else:
            old = <Group>found
            if old is not g and not old.same_body(g):
                modifies.append(g)
    if len(seen) - len(adds) != len(have):
        for group_id, found in have.items():
            if group_id not in seen:
                deletes.append(found)
    return adds, modifies, deletes
