# cython: language_level=3
"""OpenFlow actions: immutable values that know their OpenFlow 1.5 wire form.

Each action validates its arguments when built (a bad table, port, field or value raises
ActionError naming it), compares and hashes by value, and writes itself into a buffer the
flow encoder has sized in advance. Text (ovs-ofctl syntax) lives in `fastpath.text`.
"""

cimport cython
from fastpath._match cimport field_header, field_nbytes, field_oxm_len, write_field_oxm
from fastpath._wire cimport put_u8, put_u16, put_u32, put_u64, zero, pad8

from fastpath import fields as _fields

cdef enum:
    NX_VENDOR_ID = 0x00002320
    OFPAT_OUTPUT = 0
    OFPAT_GROUP = 22
    OFPAT_DEC_NW_TTL = 24
    OFPAT_SET_FIELD = 25
    OFPAT_COPY_FIELD = 28
    OFPAT_EXPERIMENTER = 0xffff
    NXAST_RESUBMIT_TABLE = 14
    NXAST_OUTPUT_REG = 15
    NXAST_CONJUNCTION = 34
    NXAST_LEARN = 16
    NX_LEARN_F_DELETE_LEARNED = 2
    NXAST_CT = 35
    NXAST_NAT = 36
    NX_CT_F_COMMIT = 1
    NX_CT_F_FORCE = 2
    NX_CT_RECIRC_NONE = 0xff

# OpenFlow 1.1+ reserved ports.
IN_PORT = 0xFFFFFFF8
NORMAL = 0xFFFFFFFA
CONTROLLER = 0xFFFFFFFD
LOCAL = 0xFFFFFFFE
MAX_PORT = 0xFFFFFF00
RESERVED_PORTS = {IN_PORT: "IN_PORT", NORMAL: "NORMAL", CONTROLLER: "CONTROLLER", LOCAL: "LOCAL"}
MAX_TABLE = 254


class ActionError(ValueError):
    """An action argument that cannot be encoded; the message names it."""


def _check_table(int table, str what):
    if table < 0 or table > MAX_TABLE:
        raise ActionError(f"{what}: table {table} is out of range 0-{MAX_TABLE}")


def _field(str name, str what):
    try:
        return _fields.lookup(name)
    except KeyError:
        raise ActionError(f"{what}: unknown field {name!r}") from None


@cython.no_gc
cdef class Action:
    """Base of every action: value equality and hashing over `_key`."""

    cdef _set_key(self, tuple key):
        self._key = key
        self._hash = hash((type(self).__name__, key))

    # Action itself is abstract: every concrete action overrides both methods.
    cdef Py_ssize_t wire_len(self) except -1:
        raise TypeError(f"{type(self).__name__} is not a concrete action")

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        raise TypeError(f"{type(self).__name__} is not a concrete action")

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        if self is other:
            return True
        if type(self) is not type(other):
            return NotImplemented
        return self._hash == (<Action>other)._hash and self._key == (<Action>other)._key

    def __str__(self):
        from fastpath.text import render_action

        return render_action(self)

    def __repr__(self):
        return f"<{type(self).__name__} {self}>"

    def __reduce__(self):
        return (type(self), self._key)

    def to_wire(self):
        """This action's OpenFlow bytes (tests and tools)."""
        n = self.wire_len()
        buf = bytearray(n)
        cdef unsigned char[::1] view = buf
        self.write(&view[0])
        return bytes(buf)


cdef inline void _nx_header(unsigned char* p, int length, int subtype) noexcept:
    put_u16(p, OFPAT_EXPERIMENTER)
    put_u16(p + 2, length)
    put_u32(p + 4, NX_VENDOR_ID)
    put_u16(p + 8, subtype)


@cython.no_gc
cdef class Output(Action):
    """output:PORT (a number or one of IN_PORT, NORMAL, CONTROLLER, LOCAL)."""

    cdef readonly unsigned int port

    def __init__(self, port):
        if isinstance(port, str):
            named = {v: k for k, v in RESERVED_PORTS.items()}.get(port.upper())
            if named is None:
                raise ActionError(f"output: unknown port {port!r}")
            port = named
        if port < 0 or (port >= MAX_PORT and port not in RESERVED_PORTS):
            raise ActionError(f"output: port {port} is not a valid OpenFlow port")
        self.port = port
        self._set_key((port,))

    cdef Py_ssize_t wire_len(self) except -1:
        return 16

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        put_u16(p, OFPAT_OUTPUT)
        put_u16(p + 2, 16)
        put_u32(p + 4, self.port)
        put_u16(p + 8, 0xffff if self.port == CONTROLLER else 0)
        zero(p + 10, 6)
        return 16


@cython.no_gc
cdef class OutputReg(Action):
    """output:NXM_NX_REGn[start..end]: output to the port number held in a register."""

    cdef readonly str field
    cdef readonly int start, end

    def __init__(self, str field, int start=0, end=None):
        f = _field(field, "output")
        end = f.nbits - 1 if end is None else end
        if not 0 <= start <= end < f.nbits:
            raise ActionError(f"output: bits {start}..{end} are outside {f.name} ({f.nbits} bits)")
        self.field = f.name
        self.start = start
        self.end = end
        self._set_key((self.field, start, end))

    cdef Py_ssize_t wire_len(self) except -1:
        return 24

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        f = _fields.BY_NAME[self.field]
        _nx_header(p, 24, NXAST_OUTPUT_REG)
        put_u16(p + 10, (self.start << 6) | (self.end - self.start))
        put_u32(p + 12, field_header(f.fid))
        put_u16(p + 16, 0xffff)
        zero(p + 18, 6)
        return 24


@cython.no_gc
cdef class Resubmit(Action):
    """resubmit(,TABLE): run TABLE now, then continue with the next action."""

    cdef readonly int table

    def __init__(self, int table):
        _check_table(table, "resubmit")
        self.table = table
        self._set_key((table,))

    cdef Py_ssize_t wire_len(self) except -1:
        return 16

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        _nx_header(p, 16, NXAST_RESUBMIT_TABLE)
        put_u16(p + 10, 0xfff8)  # OFPP_IN_PORT in 16-bit numbering: keep the packet's in_port
        put_u8(p + 12, self.table)
        zero(p + 13, 3)
        return 16


@cython.no_gc
cdef class GotoTable(Action):
    """goto_table:TABLE, the instruction that ends a flow's actions (it must come last)."""

    def __init__(self, int table):
        _check_table(table, "goto_table")
        self.table = table
        self._set_key((table,))

    cdef Py_ssize_t wire_len(self) except -1:
        return 8

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        put_u16(p, 1)  # OFPIT_GOTO_TABLE
        put_u16(p + 2, 8)
        put_u8(p + 4, self.table)
        zero(p + 5, 3)
        return 8


@cython.no_gc
cdef class Conjunction(Action):
    """conjunction(ID,CLAUSE/N_CLAUSES), CLAUSE counted from 1 as ovs-ofctl writes it."""

    cdef readonly unsigned int id
    cdef readonly int clause, n_clauses

    def __init__(self, id, int clause, int n_clauses):
        if not 0 <= id <= 0xFFFFFFFF:
            raise ActionError(f"conjunction: id {id} does not fit in 32 bits")
        if not 2 <= n_clauses <= 64 or not 1 <= clause <= n_clauses:
            raise ActionError(f"conjunction: clause {clause}/{n_clauses} is invalid (need 1 <= k <= n, 2 <= n <= 64)")
        self.id = id
        self.clause = clause
        self.n_clauses = n_clauses
        self._set_key((id, clause, n_clauses))

    cdef Py_ssize_t wire_len(self) except -1:
        return 16

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        _nx_header(p, 16, NXAST_CONJUNCTION)
        put_u8(p + 10, self.clause - 1)
        put_u8(p + 11, self.n_clauses)
        put_u32(p + 12, self.id)
        return 16


@cython.no_gc
cdef class SetField(Action):
    """set_field:VALUE[/MASK]->FIELD (also what load: and mod_dl_src: become)."""

    cdef readonly str field
    cdef readonly object value
    cdef readonly object mask
    cdef int _fid

    def __init__(self, str field, value, mask=None):
        f = _field(field, "set_field")
        if isinstance(value, str):
            from fastpath._match import _parse_text

            value, text_mask = _parse_text(f, value)
            mask = text_mask if mask is None else mask
        if not isinstance(value, int) or not 0 <= value <= f.full_mask:
            raise ActionError(f"set_field: value {value!r} does not fit in {f.name} ({f.nbits} bits)")
        if mask is not None:
            if not isinstance(mask, int) or not 0 < mask <= f.full_mask:
                raise ActionError(f"set_field: mask {mask!r} is invalid for {f.name} ({f.nbits} bits)")
            if mask == f.full_mask:
                mask = None
            else:
                value &= mask
        self.field = f.name
        self.value = value
        self.mask = mask
        self._fid = f.fid
        self._set_key((self.field, value, mask))

    cdef Py_ssize_t wire_len(self) except -1:
        return pad8(4 + field_oxm_len(self._fid, self.mask is not None))

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        cdef Py_ssize_t n = self.wire_len()
        put_u16(p, OFPAT_SET_FIELD)
        put_u16(p + 2, n)
        cdef Py_ssize_t used = 4 + write_field_oxm(p + 4, self._fid, self.value, self.mask)
        zero(p + used, n - used)
        return n


def load(str field, value, int start=0, end=None):
    """load:VALUE->FIELD[start..end], as the equivalent masked set_field."""
    f = _field(field, "load")
    end = f.nbits - 1 if end is None else end
    if not 0 <= start <= end < f.nbits:
        raise ActionError(f"load: bits {start}..{end} are outside {f.name} ({f.nbits} bits)")
    width = end - start + 1
    if not isinstance(value, int) or not 0 <= value < (1 << width):
        raise ActionError(f"load: value {value!r} does not fit in {width} bits of {f.name}")
    return SetField(f.name, value << start, ((1 << width) - 1) << start)


def mod_dl_src(mac):
    return SetField("dl_src", mac)


def mod_dl_dst(mac):
    return SetField("dl_dst", mac)


@cython.no_gc
cdef class Move(Action):
    """move:SRC[a..b]->DST[c..d], copying n_bits from one field to another."""

    cdef readonly str src, dst
    cdef readonly int src_start, dst_start, n_bits

    def __init__(self, str src, str dst, int src_start=0, int dst_start=0, n_bits=None):
        fs = _field(src, "move")
        fd = _field(dst, "move")
        n_bits = min(fs.nbits, fd.nbits) if n_bits is None else n_bits
        if n_bits <= 0 or src_start < 0 or dst_start < 0 or src_start + n_bits > fs.nbits or dst_start + n_bits > fd.nbits:
            raise ActionError(f"move: {n_bits} bits from {fs.name}[{src_start}] to {fd.name}[{dst_start}] do not fit")
        self.src = fs.name
        self.dst = fd.name
        self.src_start = src_start
        self.dst_start = dst_start
        self.n_bits = n_bits
        self._set_key((self.src, self.dst, src_start, dst_start, n_bits))

    cdef Py_ssize_t wire_len(self) except -1:
        return 24

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        put_u16(p, OFPAT_COPY_FIELD)
        put_u16(p + 2, 24)
        put_u16(p + 4, self.n_bits)
        put_u16(p + 6, self.src_start)
        put_u16(p + 8, self.dst_start)
        zero(p + 10, 2)
        put_u32(p + 12, field_header(_fields.BY_NAME[self.src].fid))
        put_u32(p + 16, field_header(_fields.BY_NAME[self.dst].fid))
        zero(p + 20, 4)
        return 24


@cython.no_gc
cdef class DecTtl(Action):
    """dec_ttl."""

    def __init__(self):
        self._set_key(())

    cdef Py_ssize_t wire_len(self) except -1:
        return 8

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        put_u16(p, OFPAT_DEC_NW_TTL)
        put_u16(p + 2, 8)
        zero(p + 4, 4)
        return 8


@cython.no_gc
cdef class Group(Action):
    """group:ID."""

    cdef readonly unsigned int group_id

    def __init__(self, group_id):
        if not 0 <= group_id <= 0xFFFFFF00:
            raise ActionError(f"group: id {group_id} is out of range")
        self.group_id = group_id
        self._set_key((group_id,))

    cdef Py_ssize_t wire_len(self) except -1:
        return 8

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        put_u16(p, OFPAT_GROUP)
        put_u16(p + 2, 8)
        put_u32(p + 4, self.group_id)
        return 8


NAT_SRC = "src"
NAT_DST = "dst"
cdef enum:
    NX_NAT_F_SRC = 1
    NX_NAT_F_DST = 2
    NX_NAT_RANGE_IPV4_MIN = 1
    NX_NAT_RANGE_IPV4_MAX = 2
    NX_NAT_RANGE_PROTO_MIN = 16
    NX_NAT_RANGE_PROTO_MAX = 32


def _nat_int(value, nbits, str what):
    if value is None:
        return None
    if isinstance(value, str):
        from fastpath._match import parse_ipv4

        value = parse_ipv4(value)
    elif not isinstance(value, int):
        value = int(value)  # ipaddress.IPv4Address
    if not 0 <= value < (1 << nbits):
        raise ActionError(f"nat: {what} {value} does not fit in {nbits} bits")
    return value


@cython.no_gc
cdef class Nat(Action):
    """nat, or nat(src|dst=IP[-IP][:PORT[-PORT]]) inside ct.

    Without a kind it applies the NAT already set up for the connection; with one it sets up
    source or destination NAT of a new connection to the address (range) and port (range).
    """

    cdef readonly object kind
    cdef readonly object ip_min, ip_max, port_min, port_max

    def __init__(self, kind=None, ip_min=None, ip_max=None, port_min=None, port_max=None):
        if kind not in (None, NAT_SRC, NAT_DST):
            raise ActionError(f"nat: kind {kind!r} is not 'src' or 'dst'")
        ip_min = _nat_int(ip_min, 32, "address")
        ip_max = _nat_int(ip_max, 32, "address")
        port_min = _nat_int(port_min, 16, "port")
        port_max = _nat_int(port_max, 16, "port")
        if kind is None and (ip_min is not None or port_min is not None):
            raise ActionError("nat: an address or port needs src= or dst=")
        if kind is not None and ip_min is None:
            raise ActionError(f"nat({kind}=...) needs an address")
        if ip_max is not None and ip_max == ip_min:
            ip_max = None
        if port_max is not None and port_max == port_min:
            port_max = None
        if (ip_max is not None and ip_max < ip_min) or (port_max is not None and (port_min is None or port_max < port_min)):
            raise ActionError("nat: a range must go from low to high")
        self.kind = kind
        self.ip_min = ip_min
        self.ip_max = ip_max
        self.port_min = port_min
        self.port_max = port_max
        self._set_key((kind, ip_min, ip_max, port_min, port_max))

    cdef Py_ssize_t wire_len(self) except -1:
        cdef Py_ssize_t n = 16
        if self.ip_min is not None:
            n += 4
        if self.ip_max is not None:
            n += 4
        if self.port_min is not None:
            n += 2
        if self.port_max is not None:
            n += 2
        return pad8(n)

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        cdef Py_ssize_t n = self.wire_len(), off = 16
        cdef int flags = 0, present = 0
        _nx_header(p, n, NXAST_NAT)
        zero(p + 10, n - 10)
        if self.kind == NAT_SRC:
            flags = NX_NAT_F_SRC
        elif self.kind == NAT_DST:
            flags = NX_NAT_F_DST
        if self.ip_min is not None:
            present |= NX_NAT_RANGE_IPV4_MIN
            put_u32(p + off, self.ip_min)
            off += 4
        if self.ip_max is not None:
            present |= NX_NAT_RANGE_IPV4_MAX
            put_u32(p + off, self.ip_max)
            off += 4
        if self.port_min is not None:
            present |= NX_NAT_RANGE_PROTO_MIN
            put_u16(p + off, self.port_min)
            off += 2
        if self.port_max is not None:
            present |= NX_NAT_RANGE_PROTO_MAX
            put_u16(p + off, self.port_max)
            off += 2
        put_u16(p + 12, flags)
        put_u16(p + 14, present)
        return n


@cython.no_gc
cdef class Ct(Action):
    """ct(commit,force,table=T,zone=Z,nat,exec(ACTIONS)): send through connection tracking.

    exec() holds set_field or move actions whose destination is ct_mark or ct_label: what a
    commit records in the connection (a mark, or the ids of the rules that allowed it).
    """

    cdef readonly bint commit, force
    cdef readonly object table, nat
    cdef readonly int zone
    cdef readonly tuple actions

    def __init__(self, *, bint commit=False, bint force=False, table=None, int zone=0,
                 nat=None, actions=()):
        if table is not None:
            _check_table(table, "ct")
        if not 0 <= zone <= 0xFFFF:
            raise ActionError(f"ct: zone {zone} is out of range 0-65535")
        actions = tuple(actions)
        for a in actions:
            if not _writes_connection(a):
                raise ActionError(f"ct: exec() may only set or move into ct_mark or ct_label, not {a}")
        if actions and not commit:
            raise ActionError("ct: exec() needs commit")
        self.commit = commit
        self.force = force
        self.table = table
        self.zone = zone
        if nat is True:
            nat = Nat()
        elif nat is False:
            nat = None
        elif nat is not None and not isinstance(nat, Nat):
            raise ActionError(f"ct: nat must be a Nat action, not {nat!r}")
        self.nat = nat
        self.actions = actions
        self._set_key((commit, force, table, zone, nat, actions))

    def __reduce__(self):
        return (_make_ct, self._key)

    cdef Py_ssize_t wire_len(self) except -1:
        cdef Py_ssize_t n = 24 + ((<Action>self.nat).wire_len() if self.nat is not None else 0)
        for a in self.actions:
            n += (<Action>a).wire_len()
        return n

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        cdef Py_ssize_t n = self.wire_len(), off = 24
        if n > 0xFFFF:
            raise ActionError("ct: too many exec() actions")
        _nx_header(p, n, NXAST_CT)
        put_u16(p + 10, (NX_CT_F_COMMIT if self.commit else 0) | (NX_CT_F_FORCE if self.force else 0))
        put_u32(p + 12, 0)  # zone_src: none, the zone is immediate
        put_u16(p + 16, self.zone)
        put_u8(p + 18, NX_CT_RECIRC_NONE if self.table is None else self.table)
        zero(p + 19, 3)
        put_u16(p + 22, 0)  # alg
        if self.nat is not None:
            off += (<Action>self.nat).write(p + off)
        for a in self.actions:
            off += (<Action>a).write(p + off)
        return off


_CONNECTION_FIELDS = ("ct_mark", "ct_label")


cdef bint _writes_connection(object action):
    """Whether `action` writes only the committed connection's ct_mark or ct_label (all that
    Open vSwitch lets ct's exec() do)."""
    if isinstance(action, SetField):
        return (<SetField>action).field in _CONNECTION_FIELDS
    if isinstance(action, Move):
        return (<Move>action).dst in _CONNECTION_FIELDS
    return False


def _make_ct(commit, force, table, zone, nat, actions):
    return Ct(commit=commit, force=force, table=table, zone=zone, nat=nat, actions=actions)


LEARN_MATCH = "match"
LEARN_LOAD = "load"


class LearnSpec(tuple):
    """One flow_mod_spec of learn(): what the learned flow matches or loads.

    (kind, dst field, dst start, n_bits, src field or None, src start, immediate value or None).
    Build with `learn_match` / `learn_load`.
    """

    __slots__ = ()

    kind = property(lambda self: self[0])
    dst = property(lambda self: self[1])
    dst_start = property(lambda self: self[2])
    n_bits = property(lambda self: self[3])
    src = property(lambda self: self[4])
    src_start = property(lambda self: self[5])
    value = property(lambda self: self[6])


def _learn_spec(str kind, str dst, int dst_start, end, src, src_start, value):
    fd = _field(dst, "learn")
    end = fd.nbits - 1 if end is None else end
    if not 0 <= dst_start <= end < fd.nbits:
        raise ActionError(f"learn: bits {dst_start}..{end} are outside {fd.name} ({fd.nbits} bits)")
    n_bits = end - dst_start + 1
    if value is not None:
        if src is not None:
            raise ActionError("learn: a spec takes a source field or a value, not both")
        if not isinstance(value, int) or not 0 <= value < (1 << n_bits):
            raise ActionError(f"learn: value {value!r} does not fit in {n_bits} bits of {fd.name}")
        if kind == LEARN_MATCH and n_bits != fd.nbits:
            raise ActionError(f"learn: an immediate match must cover all of {fd.name}")
        return LearnSpec((kind, fd.name, dst_start, n_bits, None, 0, value))
    fs = _field(src if src is not None else dst, "learn")
    src_start = dst_start if src_start is None else src_start
    if src_start < 0 or src_start + n_bits > fs.nbits:
        raise ActionError(f"learn: {n_bits} bits from {fs.name}[{src_start}] do not fit")
    return LearnSpec((kind, fd.name, dst_start, n_bits, fs.name, src_start, None))


def learn_match(str field, int start=0, end=None, *, src=None, src_start=None, value=None):
    """The learned flow matches FIELD[start..end] on the value it has now in this packet
    (or in SRC[src_start..]), or on the immediate `value` (the whole field)."""
    return _learn_spec(LEARN_MATCH, field, start, end, src, src_start, value)


def learn_load(str field, int start=0, end=None, *, src=None, src_start=None, value=None):
    """The learned flow loads FIELD[start..end] with this packet's SRC[src_start..] (default:
    the same field) or with the immediate `value`."""
    return _learn_spec(LEARN_LOAD, field, start, end, src, src_start, value)


cdef Py_ssize_t _learn_spec_len(tuple spec) noexcept:
    cdef Py_ssize_t n = 2 + 6  # header, dst header and offset
    if spec[6] is not None:
        n += ((spec[3] + 15) // 16) * 2
    else:
        n += 6
    return n


@cython.no_gc
cdef class Learn(Action):
    """learn(table=T,idle_timeout=I,hard_timeout=H,priority=P,delete_learned,cookie=C,SPECS):
    add (or refresh) a flow in table T built from this packet's fields."""

    cdef readonly int table, priority, idle_timeout, hard_timeout
    cdef readonly unsigned long long cookie
    cdef readonly bint delete_learned
    cdef readonly tuple specs

    def __init__(self, int table, *, int priority=32768, int idle_timeout=0, int hard_timeout=0,
                 cookie=0, bint delete_learned=False, specs=()):
        _check_table(table, "learn")
        if not 0 <= priority <= 0xFFFF:
            raise ActionError(f"learn: priority {priority} is out of range 0-65535")
        for what, t in (("idle_timeout", idle_timeout), ("hard_timeout", hard_timeout)):
            if not 0 <= t <= 0xFFFF:
                raise ActionError(f"learn: {what} {t} is out of range 0-65535")
        if not 0 <= cookie <= 0xFFFFFFFFFFFFFFFF:
            raise ActionError(f"learn: cookie {cookie:#x} does not fit in 64 bits")
        specs = tuple(specs)
        for spec in specs:
            if not isinstance(spec, LearnSpec):
                raise ActionError(f"learn: {spec!r} is not a learn_match or learn_load spec")
        self.table = table
        self.priority = priority
        self.idle_timeout = idle_timeout
        self.hard_timeout = hard_timeout
        self.cookie = cookie
        self.delete_learned = delete_learned
        self.specs = specs
        self._set_key((table, priority, idle_timeout, hard_timeout, cookie, delete_learned, specs))

    def __reduce__(self):
        return (_make_learn, self._key)

    cdef Py_ssize_t wire_len(self) except -1:
        cdef Py_ssize_t n = 32
        for spec in self.specs:
            n += _learn_spec_len(<tuple>spec)
        return pad8(n)

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        cdef Py_ssize_t n = self.wire_len(), off = 32, nbytes, i
        cdef int header, n_bits
        cdef object value
        if n > 0xFFFF:
            raise ActionError("learn: too many specs")
        zero(p, n)
        _nx_header(p, n, NXAST_LEARN)
        put_u16(p + 10, self.idle_timeout)
        put_u16(p + 12, self.hard_timeout)
        put_u16(p + 14, self.priority)
        put_u64(p + 16, self.cookie)
        put_u16(p + 24, NX_LEARN_F_DELETE_LEARNED if self.delete_learned else 0)
        put_u8(p + 26, self.table)
        for spec in self.specs:
            n_bits = spec[3]
            header = n_bits | ((1 << 11) if spec[0] == LEARN_LOAD else 0)
            value = spec[6]
            if value is not None:
                header |= 1 << 13
            put_u16(p + off, header)
            off += 2
            if value is not None:
                nbytes = ((n_bits + 15) // 16) * 2
                for i in range(nbytes):
                    put_u8(p + off + nbytes - 1 - i, (value >> (8 * i)) & 0xFF)
                off += nbytes
            else:
                put_u32(p + off, field_header(_fields.BY_NAME[spec[4]].fid))
                put_u16(p + off + 4, spec[5])
                off += 6
            put_u32(p + off, field_header(_fields.BY_NAME[spec[1]].fid))
            put_u16(p + off + 4, spec[2])
            off += 6
        return n


def _make_learn(table, priority, idle_timeout, hard_timeout, cookie, delete_learned, specs):
    return Learn(table, priority=priority, idle_timeout=idle_timeout, hard_timeout=hard_timeout,
                 cookie=cookie, delete_learned=delete_learned, specs=specs)


@cython.no_gc
cdef class Drop(Action):
    """drop: an empty action list. Flows drop it, so `actions=(Drop(),)` equals `actions=()`."""

    def __init__(self):
        self._set_key(())

    cdef Py_ssize_t wire_len(self) except -1:
        return 0

    cdef Py_ssize_t write(self, unsigned char* p) except -1:
        return 0
