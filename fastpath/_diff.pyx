# cython: language_level=3
"""The flow diff engine: desired against installed flows, to minimal adds, modifies, deletes.

Flows are paired by identity (table, priority, match) through an open-addressing table of
(identity hash, installed index, desired index) slots built over the hashes every Flow
computes once when it is built; flows are only dereferenced and fully compared when their
hashes are equal, which keeps the pass cache-friendly at 100k flows. Results come in input
order (adds and modifies in desired order, deletes in installed order), exactly as
`fastpath.diff_reference.diff_flows_reference`, the specification this engine is tested against.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyTypeObject
from cpython.ref cimport PyObject
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from fastpath._flow cimport Flow
from fastpath._group cimport Group


class DuplicateFlowError(ValueError):
    """Two flows of one set share an identity, so the set cannot be installed as given."""


cdef extern from *:
    void __builtin_prefetch(const void* addr) nogil

cdef extern from "Python.h":
    PyObject* _list_item "PyList_GET_ITEM" (object, Py_ssize_t) nogil
    bint _type_check "PyObject_TypeCheck" (PyObject*, PyTypeObject*) nogil


cdef struct Slot:
    Py_hash_t hash
    int have  # index into installed, or -1
    int want  # index into desired, or -1


# At 100k flows nearly every first touch misses the cache: the flow objects (scattered over
# tens of megabytes), the table slots (touched in hash order), and a desired flow's installed
# partner with its match and instruction bytes. Each pass therefore runs a prefetch pipeline
# LOOKAHEAD flows per stage ahead of the flow it works on, each stage reading only what the
# stage before brought into the cache: the flow object, then its slot, then (desired pass) the
# partner object the slot names, then the partner's bytes. The stages read flows through
# borrowed pointers (no reference counting: that would write to every object) and skip an item
# that is not a Flow, which the working stage then refuses.
cdef enum:
    LOOKAHEAD = 3


cdef inline Py_ssize_t _capacity(Py_ssize_t n) noexcept:
    cdef Py_ssize_t cap = 16
    while cap < 2 * n + 1:
        cap <<= 1
    return cap


# Pairing compares the identities and bodies of two flows, whose encoded match and instructions
# are short (a few dozen bytes): compared here inline, a word at a time, rather than through the
# flows' own comparison methods (a virtual call each) and libc's memcmp (a call per field).
cdef inline bint _same_bytes(bytes a, bytes b) noexcept:
    if a is b:
        return True
    cdef Py_ssize_t n = PyBytes_GET_SIZE(a)
    if n != PyBytes_GET_SIZE(b):
        return False
    cdef const char* p = PyBytes_AS_STRING(a)
    cdef const char* q = PyBytes_AS_STRING(b)
    cdef uint64_t x, y
    while n >= 8:
        memcpy(&x, p, 8)
        memcpy(&y, q, 8)
        if x != y:
            return False
        p += 8
        q += 8
        n -= 8
    while n > 0:
        if p[0] != q[0]:
            return False
        p += 1
        q += 1
        n -= 1
    return True


cdef inline bint _same_key(Flow f, Flow g) noexcept:
    return (
        f.key_hash == g.key_hash
        and f.table == g.table
        and f.priority == g.priority
        and _same_bytes(f._key_oxm, g._key_oxm)
    )


cdef inline bint _same_body(Flow f, Flow g) noexcept:
    return f.cookie == g.cookie and f.body_hash == g.body_hash and _same_bytes(f._instructions, g._instructions)


cdef inline PyObject* _flow_at(list flows, Py_ssize_t i, Py_ssize_t n) noexcept:
    # Item i as a borrowed Flow, or NULL past the end or if it is not a Flow (a prefetch skips it).
    if i >= n:
        return NULL
    cdef PyObject* o = _list_item(flows, i)
    return o if _type_check(o, <PyTypeObject*>Flow) else NULL


cdef inline void _prefetch_slot(const Slot* table, Py_ssize_t mask, PyObject* o) noexcept:
    if o != NULL:
        __builtin_prefetch(&table[(<size_t>(<Flow>o).key_hash) & mask])


cdef inline int _partner(const Slot* table, Py_ssize_t mask, PyObject* o) noexcept:
    # The installed index of a likely partner of flow `o` (a slot near its home holding its
    # hash), or -1: only a prefetch hint, so it looks at two slots at most.
    if o == NULL:
        return -1
    cdef Py_hash_t h = (<Flow>o).key_hash
    cdef Py_ssize_t s = (<size_t>h) & mask
    if table[s].have != -1 and table[s].hash == h:
        return table[s].have
    s = (s + 1) & mask
    if table[s].have != -1 and table[s].hash == h:
        return table[s].have
    return -1


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
    cdef int k
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
            if i + 2 * LOOKAHEAD < n_have:
                __builtin_prefetch(_list_item(have, i + 2 * LOOKAHEAD))
            _prefetch_slot(table, mask, _flow_at(have, i + LOOKAHEAD, n_have))
            f = <Flow?>have[i]
            h = f.key_hash
            s = (<size_t>h) & mask
            while table[s].have != -1:
                if table[s].hash == h and _same_key(<Flow>have[table[s].have], f):
                    raise DuplicateFlowError(f"installed flows share an identity: {f}")
                s = (s + 1) & mask
            table[s].hash = h
            table[s].have = <int>i
        for i in range(n_want):
            if i + 4 * LOOKAHEAD < n_want:
                __builtin_prefetch(_list_item(want, i + 4 * LOOKAHEAD))
            _prefetch_slot(table, mask, _flow_at(want, i + 3 * LOOKAHEAD, n_want))
            k = _partner(table, mask, _flow_at(want, i + 2 * LOOKAHEAD, n_want))
            if k != -1:
                __builtin_prefetch(_list_item(have, k))
            k = _partner(table, mask, _flow_at(want, i + LOOKAHEAD, n_want))
            if k != -1:
                __builtin_prefetch(<PyObject*>(<Flow>_list_item(have, k))._key_oxm)
                __builtin_prefetch(<PyObject*>(<Flow>_list_item(have, k))._instructions)
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
                        if _same_key(g, f):
                            if table[s].want != -1:
                                raise DuplicateFlowError(f"desired flows share an identity: {f}")
                            table[s].want = <int>i
                            paired[table[s].have] = 1
                            if not _same_body(g, f):
                                modifies.append(f)
                            break
                    elif _same_key(<Flow>want[table[s].want], f):
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
