# cython: language_level=3
"""OpenFlow 1.5 message encoding: flow mods, bundles and the small control messages.

The hot path is `encode_bundle_adds`: it sizes every BUNDLE_ADD(FLOW_MOD) of a batch first,
allocates one bytes object and writes them all in place, so encoding costs no Python objects
per flow beyond the flow itself.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from fastpath._flow cimport Flow
from fastpath._match cimport Match
from fastpath._wire cimport put_u8, put_u16, put_u32, put_u64, zero, pad8

cdef enum:
    OFP_VERSION = 6
    OFPT_FLOW_MOD = 14
    OFPT_BUNDLE_ADD_MESSAGE = 34
    FLOW_MOD_FIXED = 48  # ofp_header + ofp_flow_mod up to the match
    BUNDLE_ADD_FIXED = 16  # ofp_header + bundle_id, pad, flags

VERSION = OFP_VERSION
OFPT_HELLO = 0
OFPT_ERROR = 1
OFPT_ECHO_REQUEST = 2
OFPT_ECHO_REPLY = 3
OFPT_FEATURES_REQUEST = 5
OFPT_FEATURES_REPLY = 6
OFPT_MULTIPART_REQUEST = 18
OFPT_MULTIPART_REPLY = 19
OFPT_BARRIER_REQUEST = 20
OFPT_BARRIER_REPLY = 21
OFPT_BUNDLE_CONTROL = 33
OFPT_BUNDLE_ADD = 34

# Flow mod commands.
ADD = 0
MODIFY = 1
MODIFY_STRICT = 2
DELETE = 3
DELETE_STRICT = 4

# Bundle control types and flags.
BUNDLE_OPEN = 0
BUNDLE_OPEN_REPLY = 1
BUNDLE_COMMIT = 4
BUNDLE_COMMIT_REPLY = 5
BUNDLE_DISCARD = 6
BUNDLE_DISCARD_REPLY = 7
BUNDLE_ATOMIC = 1
BUNDLE_ORDERED = 2

OFPTT_ALL = 0xFF
OFPP_ANY = 0xFFFFFFFF
OFPG_ANY = 0xFFFFFFFF
OFPMP_FLOW_DESC = 1
OFPMP_GROUP_STATS = 6
OFPMP_GROUP_DESC = 7
OFPT_SET_CONFIG = 9
OFPT_PACKET_IN = 10
OFPT_PACKET_OUT = 13
OFPG_ALL = 0xFFFFFFFC
MAX_MESSAGE = 0xFFFF


class EncodeError(ValueError):
    """A message that OpenFlow cannot carry (for example a flow over 64 KiB)."""


cdef inline void _header(unsigned char* p, int msg_type, Py_ssize_t length, unsigned long xid) noexcept:
    put_u8(p, OFP_VERSION)
    put_u8(p + 1, msg_type)
    put_u16(p + 2, length)
    put_u32(p + 4, xid)


cdef inline Py_ssize_t _match_len(Match match) noexcept:
    return pad8(4 + match._oxm_len)


cdef inline Py_ssize_t _flow_mod_len(Flow flow, bint with_instructions) noexcept:
    return FLOW_MOD_FIXED + _match_len(flow.match) + (flow.instructions_len() if with_instructions else 0)


cdef Py_ssize_t _write_match(unsigned char* p, Match match) except -1:
    cdef Py_ssize_t n = 4 + match._oxm_len, padded = pad8(n)
    put_u16(p, 1)  # OFPMT_OXM
    put_u16(p + 2, n)
    match.write_oxm(p + 4)
    zero(p + n, padded - n)
    return padded


cdef Py_ssize_t _write_flow_mod(unsigned char* p, Flow flow, int command, unsigned long xid,
                                bint with_instructions) except -1:
    cdef Py_ssize_t length = _flow_mod_len(flow, with_instructions), off
    _header(p, OFPT_FLOW_MOD, length, xid)
    put_u64(p + 8, flow.cookie)
    put_u64(p + 16, 0)  # cookie_mask: strict commands identify flows by match and priority
    put_u8(p + 24, flow.table)
    put_u8(p + 25, command)
    put_u16(p + 26, 0)  # idle_timeout
    put_u16(p + 28, 0)  # hard_timeout
    put_u16(p + 30, flow.priority)
    put_u32(p + 32, 0xFFFFFFFF)  # buffer_id: none
    put_u32(p + 36, OFPP_ANY)
    put_u32(p + 40, OFPG_ANY)
    put_u16(p + 44, 0)  # flags
    put_u16(p + 46, 0)  # importance
    off = FLOW_MOD_FIXED + _write_match(p + FLOW_MOD_FIXED, flow.match)
    if with_instructions:
        off += flow.write_instructions(p + off)
    return off


def encode_flow_mod(Flow flow not None, int command, unsigned long xid):
    """One FLOW_MOD for `flow` (deletes carry no instructions)."""
    cdef bint instr = command != DELETE and command != DELETE_STRICT
    cdef Py_ssize_t n = _flow_mod_len(flow, instr)
    if n > MAX_MESSAGE:
        raise EncodeError(f"flow {flow} encodes to {n} bytes, over OpenFlow's 65535")
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    _write_flow_mod(<unsigned char*>PyBytes_AS_STRING(out), flow, command, xid, instr)
    return out


def encode_bundle_adds(list flows not None, int command, unsigned long bundle_id, unsigned long first_xid,
                       int flags=BUNDLE_ATOMIC | BUNDLE_ORDERED):
    """BUNDLE_ADD(FLOW_MOD command) for each flow, xids first_xid, first_xid+1, ..., in one buffer."""
    cdef bint instr = command != DELETE and command != DELETE_STRICT
    cdef Py_ssize_t total = 0, n, off = 0, i, count = len(flows)
    cdef Flow flow
    for i in range(count):
        flow = <Flow?>flows[i]
        n = BUNDLE_ADD_FIXED + _flow_mod_len(flow, instr)
        if n > MAX_MESSAGE:
            raise EncodeError(f"flow {flow} encodes to {n} bytes, over OpenFlow's 65535")
        total += n
    cdef bytes out = PyBytes_FromStringAndSize(NULL, total)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    cdef unsigned long xid
    for i in range(count):
        flow = <Flow>flows[i]
        xid = (first_xid + i) & 0xFFFFFFFF
        n = BUNDLE_ADD_FIXED + _flow_mod_len(flow, instr)
        _header(p + off, OFPT_BUNDLE_ADD_MESSAGE, n, xid)
        put_u32(p + off + 8, bundle_id)
        put_u16(p + off + 12, 0)
        put_u16(p + off + 14, flags)
        _write_flow_mod(p + off + BUNDLE_ADD_FIXED, flow, command, xid, instr)
        off += n
    return out


def encode_delete_by_cookie(unsigned long long cookie, unsigned long long cookie_mask, unsigned long xid,
                            int table=OFPTT_ALL):
    """FLOW_MOD DELETE of every flow (in `table`, default all) whose cookie matches under the mask."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, FLOW_MOD_FIXED + 8)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    _header(p, OFPT_FLOW_MOD, FLOW_MOD_FIXED + 8, xid)
    put_u64(p + 8, cookie)
    put_u64(p + 16, cookie_mask)
    put_u8(p + 24, table)
    put_u8(p + 25, DELETE)
    zero(p + 26, 4)
    put_u16(p + 30, 0)
    put_u32(p + 32, 0xFFFFFFFF)
    put_u32(p + 36, OFPP_ANY)
    put_u32(p + 40, OFPG_ANY)
    zero(p + 44, 4)
    put_u16(p + 48, 1)  # empty OXM match
    put_u16(p + 50, 4)
    zero(p + 52, 4)
    return out


def bundle_add(bytes inner not None, unsigned long bundle_id, int flags=BUNDLE_ATOMIC | BUNDLE_ORDERED):
    """Wrap one already-encoded message (its xid is reused, as the spec requires) in BUNDLE_ADD."""
    cdef Py_ssize_t n = BUNDLE_ADD_FIXED + len(inner)
    if n > MAX_MESSAGE:
        raise EncodeError(f"message of {len(inner)} bytes does not fit in a bundle")
    cdef const unsigned char* q = <const unsigned char*>PyBytes_AS_STRING(inner)
    cdef unsigned long xid = (q[4] << 24) | (q[5] << 16) | (q[6] << 8) | q[7]
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    _header(p, OFPT_BUNDLE_ADD_MESSAGE, n, xid)
    put_u32(p + 8, bundle_id)
    put_u16(p + 12, 0)
    put_u16(p + 14, flags)
    cdef Py_ssize_t i
    for i in range(len(inner)):
        p[BUNDLE_ADD_FIXED + i] = q[i]
    return out


def encode_bundle_control(int control_type, unsigned long bundle_id, unsigned long xid,
                          int flags=BUNDLE_ATOMIC | BUNDLE_ORDERED):
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 16)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    _header(p, 33, 16, xid)  # OFPT_BUNDLE_CONTROL
    put_u32(p + 8, bundle_id)
    put_u16(p + 12, control_type)
    put_u16(p + 14, flags)
    return out


def encode_simple(int msg_type, unsigned long xid, bytes body=b""):
    """A header-only message (barrier, features request) or one with an opaque body (echo)."""
    cdef Py_ssize_t n = 8 + len(body)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 8)
    _header(<unsigned char*>PyBytes_AS_STRING(out), msg_type, n, xid)
    return out + body


def encode_hello(unsigned long xid):
    """HELLO offering OpenFlow 1.5 only, with a version bitmap element."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 16)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    _header(p, OFPT_HELLO, 16, xid)
    put_u16(p + 8, 1)  # OFPHET_VERSIONBITMAP
    put_u16(p + 10, 8)
    put_u32(p + 12, 1 << OFP_VERSION)
    return out


def encode_flow_desc_request(unsigned long xid, int table=OFPTT_ALL, unsigned long long cookie=0,
                             unsigned long long cookie_mask=0, Match match=None):
    """MULTIPART_REQUEST(FLOW_DESC) for the flows in `table` whose cookie matches under the mask."""
    cdef Py_ssize_t match_len = pad8(4 + (match._oxm_len if match is not None else 0))
    cdef Py_ssize_t n = 16 + 32 + match_len
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    _header(p, OFPT_MULTIPART_REQUEST, n, xid)
    put_u16(p + 8, OFPMP_FLOW_DESC)
    put_u16(p + 10, 0)
    zero(p + 12, 4)
    put_u8(p + 16, table)
    zero(p + 17, 3)
    put_u32(p + 20, OFPP_ANY)
    put_u32(p + 24, OFPG_ANY)
    zero(p + 28, 4)
    put_u64(p + 32, cookie)
    put_u64(p + 40, cookie_mask)
    if match is None:
        put_u16(p + 48, 1)
        put_u16(p + 50, 4)
        zero(p + 52, 4)
    else:
        _write_match(p + 48, match)
    return out


def encode_group_desc_request(unsigned long xid, unsigned long group_id=OFPG_ALL, int kind=OFPMP_GROUP_DESC):
    """MULTIPART_REQUEST(GROUP_DESC), or GROUP_STATS, for one group or, by default, all."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 24)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    _header(p, OFPT_MULTIPART_REQUEST, 24, xid)
    put_u16(p + 8, kind)
    put_u16(p + 10, 0)
    zero(p + 12, 4)
    put_u32(p + 16, group_id)
    zero(p + 20, 4)
    return out


def encode_set_config(unsigned long xid, int miss_send_len=0xFFFF):
    """SET_CONFIG: normal fragment handling, and how much of a packet a packet-in carries
    (a nonzero length also makes Open vSwitch send packet-ins on a service connection)."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 12)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    _header(p, OFPT_SET_CONFIG, 12, xid)
    put_u16(p + 8, 0)
    put_u16(p + 10, miss_send_len)
    return out


def encode_packet_out(unsigned long xid, bytes packet not None, unsigned long out_port,
                      unsigned long in_port=0xFFFFFFFD):
    """PACKET_OUT of `packet` through output:out_port, as if it came in on in_port
    (default CONTROLLER)."""
    # ofp_header, buffer_id, actions_len, pad(2), match (in_port OXM: 4 + 8 -> padded 16),
    # then one output action (16), then the packet.
    cdef Py_ssize_t n = 8 + 8 + 16 + 16 + len(packet)
    if n > MAX_MESSAGE:
        raise EncodeError(f"packet of {len(packet)} bytes does not fit in a packet-out")
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    cdef const unsigned char* q = <const unsigned char*>PyBytes_AS_STRING(packet)
    cdef Py_ssize_t i
    _header(p, OFPT_PACKET_OUT, n, xid)
    put_u32(p + 8, 0xFFFFFFFF)  # no buffer
    put_u16(p + 12, 16)  # actions_len
    zero(p + 14, 2)
    put_u16(p + 16, 1)  # OFPMT_OXM
    put_u16(p + 18, 12)
    put_u32(p + 20, 0x80000004)  # OXM_OF_IN_PORT
    put_u32(p + 24, in_port)
    zero(p + 28, 4)
    put_u16(p + 32, 0)  # OFPAT_OUTPUT
    put_u16(p + 34, 16)
    put_u32(p + 36, out_port)
    put_u16(p + 40, 0)
    zero(p + 42, 6)
    for i in range(len(packet)):
        p[48 + i] = q[i]
    return out
