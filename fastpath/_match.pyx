# cython: language_level=3
"""Match: a canonical, immutable set of match fields, and its OXM wire form.

Two matches that mean the same thing are equal and hash alike: fields are kept in the canonical
order of `fastpath.fields`, full masks become exact matches, zero masks disappear, values are
masked, xregN is split into its two 32-bit registers, and the prerequisites Open vSwitch
requires (eth_type for IP and ARP fields, ip_proto for ports and ICMP) are always present.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from fastpath._wire cimport copy_bytes, put_u16, put_u32, put_uint, same_bytes, zero, pad8

from fastpath import fields as _fields
from fastpath.fields import CT_STATE_FLAGS, FIELDS, PROTOCOLS, TRANSPORT_PORTS, Format

cdef enum:
    MAX_FIELDS = 64

cdef unsigned long _header[MAX_FIELDS]
cdef int _nbytes[MAX_FIELDS]
cdef bint _maskable[MAX_FIELDS]
cdef int _n_fields = len(FIELDS)
cdef list _FIELDS = list(FIELDS)
cdef dict _FULL_MASK = {}
cdef int DL_TYPE = _fields.DL_TYPE
cdef int NW_PROTO = _fields.NW_PROTO

for _f in FIELDS:
    _header[_f.fid] = _f.oxm_header
    _nbytes[_f.fid] = _f.nbytes
    _maskable[_f.fid] = _f.maskable
    _FULL_MASK[_f.fid] = _f.full_mask


class MatchError(ValueError):
    """A match field, value or mask that cannot be used; the message names it."""


cdef unsigned long field_header(int fid) noexcept:
    return _header[fid]


cdef int field_nbytes(int fid) noexcept:
    return _nbytes[fid]


cdef Py_ssize_t field_oxm_len(int fid, bint masked) noexcept:
    return 4 + _nbytes[fid] * (2 if masked else 1)


cdef Py_ssize_t write_field_oxm(unsigned char* p, int fid, object value, object mask) except -1:
    """Write one OXM TLV (header, value, optional mask); return its length."""
    cdef int n = _nbytes[fid]
    cdef unsigned long header = _header[fid]
    cdef bytes big
    if mask is None:
        put_u32(p, header)
        if n <= 8:
            put_uint(p + 4, <unsigned long long>value, n)
        else:
            big = (<object>value).to_bytes(n, "big")
            _copy(p + 4, big, n)
        return 4 + n
    put_u32(p, (header & 0xffffff00) | 0x100 | (2 * n))
    if n <= 8:
        put_uint(p + 4, <unsigned long long>value, n)
        put_uint(p + 4 + n, <unsigned long long>mask, n)
    else:
        _copy(p + 4, (<object>value).to_bytes(n, "big"), n)
        _copy(p + 4 + n, (<object>mask).to_bytes(n, "big"), n)
    return 4 + 2 * n


cdef inline void _copy(unsigned char* p, bytes src, int n) noexcept:
    cdef const char* s = PyBytes_AS_STRING(src)
    cdef int i
    for i in range(n):
        p[i] = <unsigned char>s[i]


# -- value parsing -------------------------------------------------------------------------------

def parse_ipv4(str text):
    """Dotted-quad text to an int; a clear MatchError otherwise."""
    cdef list parts = text.split(".")
    cdef unsigned long result = 0
    cdef object part
    cdef long octet
    if len(parts) != 4:
        raise MatchError(f"{text!r} is not an IPv4 address")
    for part in parts:
        if not part.isdigit() or len(part) > 3:
            raise MatchError(f"{text!r} is not an IPv4 address")
        octet = int(part)
        if octet > 255:
            raise MatchError(f"{text!r} is not an IPv4 address")
        result = (result << 8) | octet
    return result


def parse_mac(str text):
    """aa:bb:cc:dd:ee:ff to an int; a clear MatchError otherwise."""
    cdef list parts = text.split(":")
    if len(parts) != 6 or any(len(p) == 0 or len(p) > 2 for p in parts):
        raise MatchError(f"{text!r} is not a MAC address")
    try:
        return int("".join(p.zfill(2) for p in parts), 16)
    except ValueError:
        raise MatchError(f"{text!r} is not a MAC address") from None


def prefix_mask(prefix, nbits=32):
    """The mask of a prefix length: prefix_mask(24) == 0xffffff00."""
    if prefix < 0 or prefix > nbits:
        raise MatchError(f"prefix length {prefix} is out of range 0-{nbits}")
    return ((1 << prefix) - 1) << (nbits - prefix)


def _parse_int(str text, str name):
    try:
        return int(text, 0)
    except ValueError:
        raise MatchError(f"{name}: {text!r} is not a number") from None


def _parse_ct_state(str text):
    """`+trk-new`, `+est` or a number, to (value, mask)."""
    if not text or text[0] not in "+-":
        if text and text[0].isalpha():  # flags all matched exactly, as in ct_state=est|trk
            try:
                return sum(CT_STATE_FLAGS[flag] for flag in text.split("|")), None
            except KeyError as e:
                raise MatchError(f"ct_state: unknown flag {e.args[0]!r}") from None
        return _split_numeric(text, "ct_state")
    value = 0
    mask = 0
    cdef int i = 0, j
    cdef str sign, flag
    while i < len(text):
        sign = text[i]
        if sign not in "+-":
            raise MatchError(f"ct_state: {text!r} must be flags like +trk-new")
        j = i + 1
        while j < len(text) and text[j] not in "+-":
            j += 1
        flag = text[i + 1:j]
        bit = CT_STATE_FLAGS.get(flag)
        if bit is None:
            raise MatchError(f"ct_state: unknown flag {flag!r} (known: {', '.join(CT_STATE_FLAGS)})")
        mask |= bit
        if sign == "+":
            value |= bit
        i = j
    return value, mask


def _split_numeric(str text, str name):
    value, _, mask = text.partition("/")
    return _parse_int(value, name), (_parse_int(mask, name) if mask else None)


def _parse_text(field, str text):
    """A field's text value (as ovs-ofctl writes it) to (value, mask or None)."""
    fmt = field.fmt
    value_text, slash, mask_text = text.partition("/")
    if fmt is Format.IPV4:
        value = parse_ipv4(value_text)
        if not slash:
            return value, None
        if "." in mask_text:
            return value, parse_ipv4(mask_text)
        if mask_text.startswith("0x"):
            return value, _parse_int(mask_text, field.name)
        if not mask_text.isdigit():
            raise MatchError(f"{field.name}: malformed mask {mask_text!r}")
        return value, prefix_mask(int(mask_text))
    if fmt is Format.MAC:
        return parse_mac(value_text), (parse_mac(mask_text) if slash else None)
    if fmt is Format.CT_STATE:
        return _parse_ct_state(text)
    return _split_numeric(text, field.name)


def _value_and_mask(field, object raw):
    if isinstance(raw, tuple):
        if len(raw) != 2:
            raise MatchError(f"{field.name}: expected (value, mask), got {raw!r}")
        value, mask = raw
        # Each half may be text as ovs-ofctl writes a plain value (an IPv4 mask as an address).
        if isinstance(value, str):
            value = _parse_text(field, value)[0]
        if isinstance(mask, str):
            mask = _parse_text(field, mask)[0]
        return value, mask
    if isinstance(raw, bool):
        raise MatchError(f"{field.name}: {raw!r} is not a valid value")
    if isinstance(raw, int):
        return raw, None
    if isinstance(raw, str):
        return _parse_text(field, raw)
    raise MatchError(f"{field.name}: unsupported value {raw!r} of type {type(raw).__name__}")


cdef _check_and_normalize(field, object value, object mask, dict out):
    cdef object full = _FULL_MASK[field.fid]
    if not isinstance(value, int) or isinstance(value, bool):
        raise MatchError(f"{field.name}: value {value!r} is not an integer")
    if value < 0 or value > full:
        raise MatchError(f"{field.name}: value {value:#x} does not fit in {field.nbits} bits")
    if mask is not None:
        if not isinstance(mask, int) or isinstance(mask, bool):
            raise MatchError(f"{field.name}: mask {mask!r} is not an integer")
        if mask < 0 or mask > full:
            raise MatchError(f"{field.name}: mask {mask:#x} does not fit in {field.nbits} bits")
        if not _maskable[field.fid] and mask != full:
            raise MatchError(f"{field.name} cannot be masked")
        if mask == full:
            mask = None
        elif mask == 0:
            return
        else:
            value = value & mask
    if field.fid in out and out[field.fid] != (value, mask):
        raise MatchError(f"{field.name} is given twice with different values")
    out[field.fid] = (value, mask)


cdef _set_prerequisite(dict out, int fid, int value, str why):
    existing = out.get(fid)
    if existing is None:
        out[fid] = (value, None)
    elif existing != (value, None):
        name = _FIELDS[fid].name
        raise MatchError(f"{why} requires {name}={value:#x} but the match has {name}={existing[0]:#x}")


cdef tuple _canonical_entries(dict fields_in):
    """Keyword fields (names, aliases, shorthands, xregN, tp_src/tp_dst) to canonical entries."""
    cdef dict out = {}
    cdef list deferred_ports = []
    cdef object name, raw
    for name, raw in fields_in.items():
        proto = PROTOCOLS.get(name)
        if proto is not None:
            if raw is not True:
                raise MatchError(f"protocol shorthand {name!r} takes True, got {raw!r}")
            _set_prerequisite(out, DL_TYPE, proto[0], name)
            if proto[1] is not None:
                _set_prerequisite(out, NW_PROTO, proto[1], name)
            continue
        if name in ("tp_src", "tp_dst"):
            deferred_ports.append((name, raw))
            continue
        if name.startswith("xreg") and name[4:].isdigit():
            _add_xreg(out, int(name[4:]), raw)
            continue
        try:
            field = _fields.lookup(name)
        except KeyError as e:
            raise MatchError(str(e.args[0])) from None
        value, mask = _value_and_mask(field, raw)
        _check_and_normalize(field, value, mask, out)
    if deferred_ports:
        proto_entry = out.get(NW_PROTO)
        names = TRANSPORT_PORTS.get(proto_entry[0]) if proto_entry is not None else None
        if names is None:
            raise MatchError("tp_src/tp_dst need a tcp, udp or sctp match")
        for name, raw in deferred_ports:
            field = _fields.BY_NAME[names[0] if name == "tp_src" else names[1]]
            value, mask = _value_and_mask(field, raw)
            _check_and_normalize(field, value, mask, out)
    # Prerequisites implied by the fields present.
    for fid in list(out):
        field = _FIELDS[fid]
        if field.ip_proto is not None:
            _set_prerequisite(out, NW_PROTO, field.ip_proto, field.name)
        if field.eth_type is not None:
            _set_prerequisite(out, DL_TYPE, field.eth_type, field.name)
    cdef list flat = []
    for fid in sorted(out):
        value, mask = out[fid]
        flat.append(fid)
        flat.append(value)
        flat.append(mask)
    return tuple(flat)


cdef _add_xreg(dict out, int index, object raw):
    if index < 0 or index >= _fields.N_XREGS:
        raise MatchError(f"unknown match field 'xreg{index}' (xreg0-xreg{_fields.N_XREGS - 1})")
    if isinstance(raw, str):
        value, mask = _split_numeric(raw, f"xreg{index}")
    elif isinstance(raw, tuple) and len(raw) == 2:
        value, mask = raw
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value, mask = raw, None
    else:
        raise MatchError(f"xreg{index}: unsupported value {raw!r}")
    if value < 0 or value >= (1 << 64) or (mask is not None and (mask < 0 or mask >= (1 << 64))):
        raise MatchError(f"xreg{index}: value or mask does not fit in 64 bits")
    if mask is None:
        mask = (1 << 64) - 1
    high = _fields.BY_NAME[f"reg{2 * index}"]
    low = _fields.BY_NAME[f"reg{2 * index + 1}"]
    _check_and_normalize(high, value >> 32, mask >> 32, out)
    _check_and_normalize(low, value & 0xffffffff, mask & 0xffffffff, out)


cdef Match match_from_canonical(tuple entries):
    """Wrap entries that are already canonical (from the decoder); no checks."""
    cdef Match m = Match.__new__(Match)
    m._init(entries)
    return m


@cython.no_gc
cdef class Match:
    """An immutable, canonical OpenFlow match.

    Build one with keyword fields, as ovs-ofctl names them (aliases accepted):
    `Match(tcp=True, nw_src="10.0.0.0/24", tp_dst=(0x50, 0xfff0), reg1=30)`. Values are ints,
    text as ovs-ofctl writes it, or (value, mask) pairs. Bad fields, values out of range and
    malformed masks raise MatchError naming the field.
    """

    def __init__(self, **fields):
        self._init(_canonical_entries(fields))

    cdef _init(self, tuple entries):
        cdef Py_ssize_t i, n = len(entries)
        cdef Py_ssize_t total = 0
        for i in range(0, n, 3):
            total += field_oxm_len(entries[i], entries[i + 2] is not None)
        self.entries = entries
        self._oxm_len = total
        # The OXM bytes are encoded once: they are what the encoder copies into every flow
        # mod, and, since entries are canonical, comparing them is comparing the matches.
        self._oxm = PyBytes_FromStringAndSize(NULL, total)
        self._encode_oxm(<unsigned char*>PyBytes_AS_STRING(self._oxm))
        self._hash = hash(self._oxm)

    @staticmethod
    def from_fields(dict fields):
        """Like Match(**fields), from a dict."""
        cdef Match m = Match.__new__(Match)
        m._init(_canonical_entries(fields))
        return m

    def with_fields(self, **more):
        """A new match with these fields added (or replaced)."""
        merged = self.as_dict()
        merged.update(more)
        return Match.from_fields(merged)

    def as_dict(self):
        """{field name: value or (value, mask)} for every field of the match."""
        cdef dict out = {}
        cdef Py_ssize_t i
        for i in range(0, len(self.entries), 3):
            mask = self.entries[i + 2]
            out[_FIELDS[self.entries[i]].name] = self.entries[i + 1] if mask is None else (
                self.entries[i + 1], mask)
        return out

    def get(self, str name):
        """(value, mask or None) of the named field, or None when the match leaves it wild."""
        fid = _fields.lookup(name).fid
        cdef Py_ssize_t i
        for i in range(0, len(self.entries), 3):
            if self.entries[i] == fid:
                return self.entries[i + 1], self.entries[i + 2]
        return None

    def __len__(self):
        return len(self.entries) // 3

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, Match):
            return NotImplemented
        return (<Match>self)._hash == (<Match>other)._hash and same_bytes((<Match>self)._oxm, (<Match>other)._oxm)

    def __reduce__(self):
        return (match_from_entries, (self.entries,))

    def __str__(self):
        from fastpath.text import render_match

        return render_match(self)

    def __repr__(self):
        return f"Match({str(self)!r})"

    @property
    def oxm_length(self):
        return self._oxm_len

    def to_oxm(self):
        """The OXM TLVs of this match (no ofp_match header), for tests and tools."""
        return self._oxm

    cdef Py_ssize_t write_oxm(self, unsigned char* p) except -1:
        return copy_bytes(p, self._oxm)

    cdef Py_ssize_t _encode_oxm(self, unsigned char* p) except -1:
        """Write the OXM TLVs: eth_type and ip_proto first (prerequisites), then the rest."""
        cdef tuple e = self.entries
        cdef Py_ssize_t i, n = len(e), off = 0
        cdef int fid
        for i in range(0, n, 3):
            fid = e[i]
            if fid == DL_TYPE or fid == NW_PROTO:
                off += write_field_oxm(p + off, fid, e[i + 1], e[i + 2])
        for i in range(0, n, 3):
            fid = e[i]
            if fid != DL_TYPE and fid != NW_PROTO:
                off += write_field_oxm(p + off, fid, e[i + 1], e[i + 2])
        return off


def match_from_entries(tuple entries):
    """Rebuild a match from its `entries` (pickling, decoding). Entries are re-validated."""
    cdef dict fields = {}
    cdef Py_ssize_t i
    for i in range(0, len(entries), 3):
        mask = entries[i + 2]
        fields[_FIELDS[entries[i]].name] = entries[i + 1] if mask is None else (entries[i + 1], mask)
    return Match.from_fields(fields)
