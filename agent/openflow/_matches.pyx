# cython: language_level=3
"""IPv4 address matches built straight from ints: the hot path of installing a big policy.

`Match(ip=True, nw_src=(ip, mask))` parses keywords, looks fields up and validates each value,
about 2 us a match; a policy with 25,000 peer addresses needs 25,000 of them. The entries of
such a match are known in advance (eth_type IPv4, then the address field, value masked, a full
mask left out), so they are assembled here in their canonical form and wrapped directly; the
result equals what `Match(...)` builds, which the tests check.
"""

from fastpath._match cimport Match, match_from_canonical

from fastpath import fields as _fields

cdef object DL_TYPE = _fields.DL_TYPE
cdef object ETH_TYPE_IP = _fields.ETH_TYPE_IP
cdef object IP_ONLY = Match(ip=True)
ADDRESS_FIELDS = {name: _fields.FID[name] for name in ("nw_src", "nw_dst")}

# The canonical order is by field id: eth_type must come before the address fields.
for _fid in ADDRESS_FIELDS.values():
    assert _fid > DL_TYPE, "eth_type must sort before the IPv4 address fields"


def ipv4_match(str field, unsigned long long ip, unsigned long long mask):
    """The match `ip,<field>=ip/mask` (field nw_src or nw_dst; mask 0 matches every address)."""
    cdef object fid = ADDRESS_FIELDS.get(field)
    if fid is None:
        raise ValueError(f"{field!r} is not an IPv4 address field (nw_src, nw_dst)")
    if ip > 0xFFFFFFFF or mask > 0xFFFFFFFF:
        raise ValueError(f"{field}: {ip:#x}/{mask:#x} does not fit in 32 bits")
    if mask == 0:
        return IP_ONLY
    if mask == 0xFFFFFFFF:
        return match_from_canonical((DL_TYPE, ETH_TYPE_IP, None, fid, ip, None))
    return match_from_canonical((DL_TYPE, ETH_TYPE_IP, None, fid, ip & mask, mask))
