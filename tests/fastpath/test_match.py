"""Match canonicalization and validation: equal meaning means equal value, bad input is named."""

import pytest
from hypothesis import given

from fastpath import Match, MatchError, parse_match
from tests.fastpath.strategies import matches


@pytest.mark.parametrize(
    ("a", "b"),
    [
        # field order does not matter
        (
            dict(ip=True, nw_src="10.0.0.1", nw_dst="10.0.0.2"),
            dict(nw_dst="10.0.0.2", ip=True, nw_src="10.0.0.1"),
        ),
        # prerequisites are implied
        (dict(nw_src="10.0.0.1"), dict(ip=True, nw_src="10.0.0.1")),
        (dict(tcp_dst=80), dict(tcp=True, tcp_dst=80)),
        (dict(tcp=True, tp_dst=80), dict(eth_type=0x0800, ip_proto=6, tcp_dst=80)),
        (dict(arp_tpa="10.0.0.1"), dict(arp=True, arp_tpa="10.0.0.1")),
        # masks as prefixes, dotted quads or hex
        (dict(nw_src="10.0.0.0/24"), dict(nw_src="10.0.0.0/255.255.255.0")),
        (dict(nw_src="10.0.0.0/24"), dict(nw_src=(0x0A000000, 0xFFFFFF00))),
        (dict(nw_src="10.0.0.7/24"), dict(nw_src="10.0.0.0/24")),  # host bits are masked off
        (dict(reg0="0x10000/0x10000"), dict(reg0=(0x10000, 0x10000))),
        (dict(tcp=True, tp_dst="0x50/0xfff0"), dict(tcp=True, tp_dst=(80, 0xFFF0))),
        # full masks are exact matches, zero masks are wildcards
        (dict(reg1=(5, 0xFFFFFFFF)), dict(reg1=5)),
        (dict(reg1=(5, 0), reg2=1), dict(reg2=1)),
        (dict(nw_src="10.0.0.1/32"), dict(nw_src="10.0.0.1")),
        # aliases
        (dict(eth_src="aa:bb:cc:dd:ee:ff"), dict(dl_src="aa:bb:cc:dd:ee:ff")),
        (dict(dl_src="AA:BB:CC:DD:EE:FF"), dict(dl_src=0xAABBCCDDEEFF)),
        (dict(NXM_NX_REG3=7), dict(reg3=7)),
        # xregN is reg2N:reg2N+1
        (dict(xreg3=0x100000002), dict(reg6=1, reg7=2)),
        (dict(xreg0=(0x10000000000, 0xFF0000000000)), dict(reg0=(0x100, 0xFF00))),
        # ct_state flags
        (dict(ct_state="+trk-new"), dict(ct_state=(0x20, 0x21))),
        (dict(ct_state="est|trk"), dict(ct_state=(0x22, 0xFF))),
    ],
)
def test_equal_meaning_is_equal(a, b):
    assert Match(**a) == Match(**b)
    assert hash(Match(**a)) == hash(Match(**b))


def test_different_meaning_is_different():
    assert Match(nw_src="10.0.0.1") != Match(nw_dst="10.0.0.1")
    assert Match(reg1=1) != Match(reg1=(1, 0xFF))
    assert Match(tcp=True) != Match(udp=True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(nw_sorce="10.0.0.1"), "unknown match field 'nw_sorce'"),
        (dict(reg8x=1), "unknown match field 'reg8x'"),
        (dict(xreg9=1), "xreg9"),
        (dict(reg1=2**32), "reg1: value 0x100000000 does not fit in 32 bits"),
        (dict(tcp_dst=70000), "tcp_dst: value 0x11170 does not fit in 16 bits"),
        (dict(in_port=-1), "in_port: value"),
        (dict(nw_src="10.0.0.256"), "'10.0.0.256' is not an IPv4 address"),
        (dict(nw_src="10.0.0.0/33"), "prefix length 33 is out of range"),
        (dict(nw_src="10.0.0.0/abc"), "nw_src: malformed mask 'abc'"),
        (dict(dl_src="aa:bb:cc"), "is not a MAC address"),
        (dict(reg1="0x1/zz"), "reg1: 'zz' is not a number"),
        (dict(in_port=(1, 0xFF)), "in_port cannot be masked"),
        (dict(ct_zone=(1, 0xF)), "ct_zone cannot be masked"),
        (dict(ct_state="+trk+bogus"), "ct_state: unknown flag 'bogus'"),
        (dict(arp=True, nw_src="10.0.0.1"), "nw_src requires dl_type=0x800 but the match has dl_type=0x806"),
        (dict(udp=True, tcp_dst=80), "tcp_dst requires nw_proto=0x6"),
        (dict(ip=True, tp_dst=80), "tp_src/tp_dst need a tcp, udp or sctp match"),
        (dict(ip="yes"), "protocol shorthand 'ip' takes True"),
        (dict(reg1=1.5), "reg1: unsupported value 1.5"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(kwargs, message):
    with pytest.raises(MatchError) as info:
        Match(**kwargs)
    assert message in str(info.value)


def test_accessors():
    m = Match(tcp=True, nw_src="10.0.0.0/8", reg1=30)
    assert m.get("nw_src") == (0x0A000000, 0xFF000000)
    assert m.get("reg1") == (30, None)
    assert m.get("reg2") is None
    assert m.with_fields(reg2=5).get("reg2") == (5, None)
    assert Match.from_fields(m.as_dict()) == m


@given(matches())
def test_text_round_trip(match):
    assert parse_match(str(match)) == match


@given(matches())
def test_pickle_round_trip(match):
    import pickle

    assert pickle.loads(pickle.dumps(match)) == match
