# cython: language_level=3
"""Groups: immutable OpenFlow 1.5 groups (select groups with weighted buckets) and their mods.

A `Group` is identified by its id; its body is its type and buckets. Both are encoded once, at
construction (like a Flow's instructions), so the diff engine compares bytes and the encoder
copies them. A group whose buckets do not fit in one message (OpenFlow messages stop at 64 KiB:
about 700 buckets of a Service's endpoints) is sent as an ADD or MODIFY carrying the first
buckets followed by INSERT_BUCKET messages carrying the rest, all in the same atomic bundle.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from fastpath._actions cimport Action, GotoTable
from fastpath._wire cimport copy_bytes, put_u8, put_u16, put_u32, same_bytes, zero

cdef enum:
    OFP_VERSION = 6
    OFPT_GROUP_MOD = 15
    GROUP_MOD_FIXED = 24  # ofp_header + ofp15_group_mod
    BUCKET_FIXED = 8
    WEIGHT_PROP = 8
    BUNDLE_ADD_FIXED = 16

GROUP_TYPES = {"all": 0, "select": 1, "indirect": 2, "ff": 3}
TYPE_NAMES = {v: k for k, v in GROUP_TYPES.items()}

# Group mod commands (OpenFlow 1.5; ADD_OR_MOD is Open vSwitch's extension).
ADD = 0
MODIFY = 1
DELETE = 2
INSERT_BUCKET = 3
REMOVE_BUCKET = 5
ADD_OR_MOD = 0x8000

OFPG_MAX = 0xFFFFFF00
OFPG_ALL = 0xFFFFFFFC
BUCKET_MAX = 0xFFFFFF00
BUCKET_LAST = 0xFFFFFFFD
BUCKET_ALL = 0xFFFFFFFF
MAX_WEIGHT = 0xFFFF
# Room for buckets in one GROUP_MOD that also travels inside a BUNDLE_ADD.
MAX_BUCKET_BYTES = 0xFFFF - BUNDLE_ADD_FIXED - GROUP_MOD_FIXED - 200  # room for the selection property


class GroupError(ValueError):
    """A group or bucket that cannot be installed; the message names what is wrong."""


@cython.no_gc
cdef class Bucket:
    """One bucket: its actions, its weight (select groups) and its id (its index if not given)."""

    def __init__(self, actions=(), int weight=100, bucket_id=None):
        actions = tuple(actions)
        for a in actions:
            if not isinstance(a, Action):
                raise GroupError(f"bucket action {a!r} is not an Action")
            if isinstance(a, GotoTable):
                raise GroupError("a bucket cannot goto_table (use resubmit)")
        if not 0 <= weight <= MAX_WEIGHT:
            raise GroupError(f"bucket weight {weight} is out of range 0-{MAX_WEIGHT}")
        if bucket_id is not None and not 0 <= bucket_id <= BUCKET_MAX:
            raise GroupError(f"bucket id {bucket_id} is out of range 0-{BUCKET_MAX}")
        self.actions = actions
        self.weight = weight
        self.bucket_id = bucket_id

    def __eq__(self, other):
        if not isinstance(other, Bucket):
            return NotImplemented
        return (self.actions, self.weight, self.bucket_id) == (
            (<Bucket>other).actions, (<Bucket>other).weight, (<Bucket>other).bucket_id)

    def __hash__(self):
        return hash((self.actions, self.weight, self.bucket_id))

    def __reduce__(self):
        return (Bucket, (self.actions, self.weight, self.bucket_id))

    def __repr__(self):
        return f"Bucket({self.actions!r}, weight={self.weight}, bucket_id={self.bucket_id})"


cdef Py_ssize_t _bucket_len(Bucket b, bint weighted):
    cdef Py_ssize_t n = BUCKET_FIXED + (WEIGHT_PROP if weighted else 0)
    for a in b.actions:
        n += (<Action>a).wire_len()
    return n


cdef Py_ssize_t _write_bucket(unsigned char* p, Bucket b, unsigned long bucket_id, bint weighted) except -1:
    cdef Py_ssize_t n = _bucket_len(b, weighted), off = BUCKET_FIXED
    put_u16(p, n)
    put_u32(p + 4, bucket_id)
    for a in b.actions:
        off += (<Action>a).write(p + off)
    put_u16(p + 2, off - BUCKET_FIXED)  # action_array_len
    if weighted:
        put_u16(p + off, 0)  # OFPGBPT15_WEIGHT
        put_u16(p + off + 2, WEIGHT_PROP)
        put_u16(p + off + 4, b.weight)
        zero(p + off + 6, 2)
        off += WEIGHT_PROP
    return off


@cython.no_gc
cdef class Group:
    """A group: id, type (`select`, `all`, `indirect`, `ff`) and buckets."""

    def __init__(self, group_id, buckets=(), str type="select", selection_method=None, fields=()):
        if not 0 <= group_id <= OFPG_MAX:
            raise GroupError(f"group id {group_id} is out of range 0-{OFPG_MAX}")
        if type not in GROUP_TYPES:
            raise GroupError(f"group type {type!r} is not one of {sorted(GROUP_TYPES)}")
        cdef list resolved = []
        ids = set()
        for i, b in enumerate(buckets):
            if not isinstance(b, Bucket):
                raise GroupError(f"{b!r} is not a Bucket")
            bid = (<Bucket>b).bucket_id
            if bid is None:
                bid = i
                b = Bucket((<Bucket>b).actions, (<Bucket>b).weight, i)
            if bid in ids:
                raise GroupError(f"group {group_id}: two buckets have id {bid}")
            ids.add(bid)
            resolved.append(b)
        buckets = tuple(resolved)
        if type == "indirect" and len(buckets) != 1:
            raise GroupError(f"indirect group {group_id} needs exactly one bucket")
        fields = tuple(fields)
        if selection_method is not None:
            if type != "select":
                raise GroupError(f"group {group_id}: a selection method needs a select group")
            if selection_method not in ("hash", "dp_hash"):
                raise GroupError(f"group {group_id}: selection method {selection_method!r} is not hash or dp_hash")
        elif fields:
            raise GroupError(f"group {group_id}: fields need selection_method=hash")
        from fastpath import fields as _fields

        headers = []
        names = []
        for name in fields:
            try:
                f = _fields.lookup(name)
            except KeyError:
                raise GroupError(f"group {group_id}: unknown field {name!r}") from None
            names.append(f.name)
            headers.append((f.oxm_header, f.nbytes))
        self.selection_method = selection_method
        self.fields = tuple(names)
        self._props = _selection_property(selection_method, headers) if selection_method else b""
        self.group_id = group_id
        self.type = type
        self.buckets = buckets
        self._encode()

    cdef _encode(self):
        cdef bint weighted = self.type == "select"
        cdef list lengths = []
        cdef Py_ssize_t total = 0, i, n, off = 0
        for b in self.buckets:
            n = _bucket_len(<Bucket>b, weighted)
            if n > MAX_BUCKET_BYTES:
                raise GroupError(f"group {self.group_id}: a bucket encodes to {n} bytes, over one message")
            lengths.append(n)
            total += n
        self._body = PyBytes_FromStringAndSize(NULL, total)
        cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(self._body)
        # Message chunks: (start, end) byte offsets of the buckets each GROUP_MOD carries.
        cdef list chunks = []
        cdef Py_ssize_t chunk_start = 0
        for i, b in enumerate(self.buckets):
            if off + lengths[i] - chunk_start > MAX_BUCKET_BYTES:
                chunks.append((chunk_start, off))
                chunk_start = off
            off += _write_bucket(p + off, <Bucket>b, (<Bucket>b).bucket_id, weighted)
        chunks.append((chunk_start, off))
        self.chunks = tuple(chunks)
        self.body_hash = hash((self.type, self._body, self._props))

    @property
    def body(self):
        """The encoded buckets (what the diff engine compares)."""
        return self._body

    cpdef bint same_body(self, Group other):
        return (
            self.type == other.type
            and self.body_hash == other.body_hash
            and same_bytes(self._body, other._body)
            and same_bytes(self._props, other._props)
        )

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, Group):
            return NotImplemented
        return self.group_id == (<Group>other).group_id and self.same_body(<Group>other)

    def __hash__(self):
        return hash((self.group_id, self.body_hash))

    def __reduce__(self):
        return (Group, (self.group_id, self.buckets, self.type, self.selection_method, self.fields))

    def __str__(self):
        from fastpath.text import render_group

        return render_group(self)

    def __repr__(self):
        return f"Group({str(self)!r})"

    def with_buckets(self, buckets):
        return Group(self.group_id, buckets, self.type, self.selection_method, self.fields)


def _selection_property(str method, list headers):
    """Open vSwitch's NTRT_SELECTION_METHOD group property (Netronome's experimenter id 0x154d): the
    method, then each field as an OXM TLV whose value is the mask hashed (here: all of it)."""
    import struct

    fields = b"".join(struct.pack("!I", h) + b"\xff" * nbytes for h, nbytes in headers)
    n = 40 + len(fields)
    body = struct.pack("!HHII4x16sQ", 0xFFFF, n, 0x0000154D, 1, method.encode(), 0) + fields
    return body + bytes((8 - n % 8) % 8)


cdef bytes _group_mod(Group g, int command, unsigned long xid, unsigned long command_bucket_id,
                      Py_ssize_t start, Py_ssize_t end):
    cdef bytes props = g._props if command_bucket_id == BUCKET_ALL else b""
    cdef Py_ssize_t n = GROUP_MOD_FIXED + (end - start) + len(props)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    cdef const unsigned char* body = <const unsigned char*>PyBytes_AS_STRING(g._body)
    cdef Py_ssize_t i
    put_u8(p, OFP_VERSION)
    put_u8(p + 1, OFPT_GROUP_MOD)
    put_u16(p + 2, n)
    put_u32(p + 4, xid)
    put_u16(p + 8, command)
    put_u8(p + 10, GROUP_TYPES[g.type])
    put_u8(p + 11, 0)
    put_u32(p + 12, g.group_id)
    put_u16(p + 16, end - start)
    zero(p + 18, 2)
    put_u32(p + 20, command_bucket_id)
    for i in range(end - start):
        p[GROUP_MOD_FIXED + i] = body[start + i]
    cdef const unsigned char* q = <const unsigned char*>PyBytes_AS_STRING(props)
    for i in range(len(props)):
        p[GROUP_MOD_FIXED + (end - start) + i] = q[i]
    return out


def encode_group_mods(Group group not None, int command, unsigned long first_xid):
    """The GROUP_MOD messages that ADD, MODIFY, ADD_OR_MOD or DELETE `group`, xids first_xid,
    first_xid+1, ...: one message, or (a group too big for one) the first buckets in the
    command and the rest appended by INSERT_BUCKET messages."""
    if command == DELETE:
        return [_group_mod(group, DELETE, first_xid, BUCKET_ALL, 0, 0)]
    if command not in (ADD, MODIFY, ADD_OR_MOD):
        raise GroupError(f"unsupported group command {command}")
    messages = []
    for i, (start, end) in enumerate(group.chunks):
        xid = (first_xid + i) & 0xFFFFFFFF
        if i == 0:
            messages.append(_group_mod(group, command, xid, BUCKET_ALL, start, end))
        else:
            messages.append(_group_mod(group, INSERT_BUCKET, xid, BUCKET_LAST, start, end))
    return messages


def count_group_mods(Group group not None, int command):
    """How many messages `encode_group_mods` makes."""
    return 1 if command == DELETE else len(group.chunks)
