"""The small engines under the reconciler: ipBlock arithmetic, port ranges, named ports, rule ids,
the fast address matches, and the conj_id allocator."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.openflow import _matches
from agent.policy.addresses import block_addresses, ip_of, mask_of, prefix_of
from agent.policy.allocator import ConjIdAllocator
from agent.policy.ports import PortMatch, range_masks, resolve, service_matches
from agent.policy.rules import rules_of
from fastpath import Match
from pyantrea_api.ipnet import IPNet, parse_cidr
from pyantrea_api.objects import (
    Direction,
    InternalNetworkPolicy,
    IPBlock,
    NamedPort,
    Peer,
    PolicyReference,
    Protocol,
    Rule,
    Service,
)

networks = st.builds(
    lambda ip, prefix: ipaddress.IPv4Network((ip & (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF, prefix)),
    st.integers(0, 0xFFFFFFFF),
    st.integers(0, 32),
)


def _net(network: ipaddress.IPv4Network) -> IPNet:
    return IPNet(network.network_address.packed, network.prefixlen)


@given(cidr=networks, cuts=st.lists(networks, max_size=4))
def test_an_ip_block_minus_its_excepts_is_exactly_the_disjoint_networks_left(cidr, cuts):
    excepts = [cut for cut in cuts if cut.subnet_of(cidr) and cut != cidr]
    result = [
        ipaddress.IPv4Network((ip_of(a), prefix_of(a)))
        for a in block_addresses(IPBlock(_net(cidr), tuple(_net(c) for c in excepts)))
    ]
    for i, a in enumerate(result):
        assert a.subnet_of(cidr)
        assert not any(a.overlaps(c) for c in excepts)
        assert not any(a.overlaps(b) for b in result[i + 1 :])
    covered = sum(a.num_addresses for a in result)
    cut_away = sum(c.num_addresses for c in ipaddress.collapse_addresses(excepts))
    assert covered == cidr.num_addresses - cut_away


def test_ipv6_blocks_and_excepts_give_no_ipv4_networks():
    assert block_addresses(IPBlock(parse_cidr("::/0"), ())) == []
    [whole] = block_addresses(IPBlock(parse_cidr("0.0.0.0/0"), ()))
    assert (ip_of(whole), prefix_of(whole)) == (0, 0)


@given(start=st.integers(0, 65535), length=st.integers(0, 65535))
def test_a_port_range_is_the_fewest_aligned_masks_covering_it(start, length):
    end = min(65535, start + length)
    blocks = range_masks(start, end)
    covered = []
    for value, mask in blocks:
        size = (~mask & 0xFFFF) + 1
        assert value & ~mask & 0xFFFF == 0  # aligned
        covered.append(range(value, value + size))
    assert [p for r in covered for p in r] == list(range(start, end + 1))
    assert len(blocks) <= 2 * 16


def test_service_matches():
    assert service_matches(Service(Protocol.UDP, None, None)) == [PortMatch(17, 0, 0)]
    assert service_matches(Service(Protocol.SCTP, 80, 95)) == [PortMatch(132, 80, 0xFFF0)]
    with pytest.raises(ValueError, match="named"):
        service_matches(Service(Protocol.TCP, "http", None))


def test_named_ports_resolve_by_name_and_protocol():
    services = (
        Service(Protocol.TCP, "http", None),
        Service(Protocol.UDP, "dns", None),
        Service(Protocol.TCP, 9, None),
    )
    named = (NamedPort("http", 8080, Protocol.TCP), NamedPort("dns", 53, Protocol.TCP))
    assert resolve(services, named) == (PortMatch(6, 9, 0xFFFF), PortMatch(6, 8080, 0xFFFF))
    assert resolve(services[:2], ()) == ()


@given(ip=st.integers(0, 0xFFFFFFFF), prefix=st.integers(0, 32), field=st.sampled_from(["nw_src", "nw_dst"]))
def test_fast_address_matches_equal_the_checked_ones(ip, prefix, field):
    mask = mask_of(prefix)
    fast = _matches.ipv4_match(field, ip, mask)
    assert fast == Match(ip=True, **{field: (ip, mask)})
    assert str(fast) == str(Match(ip=True, **{field: (ip, mask)}))


def test_fast_address_matches_refuse_other_fields_and_values():
    with pytest.raises(ValueError, match="not an IPv4 address field"):
        _matches.ipv4_match("reg1", 1, 0xFFFFFFFF)
    with pytest.raises(ValueError, match="does not fit"):
        _matches.ipv4_match("nw_src", 1 << 32, 0xFFFFFFFF)


def test_rule_ids_hash_content_not_position():
    a = Rule(Direction.IN, Peer(("g1",), ()), (Service(Protocol.TCP, 80, None),))
    b = Rule(Direction.OUT, Peer((), (IPBlock(parse_cidr("10.0.0.0/8"), (parse_cidr("10.1.0.0/16"),)),)), ())
    ref = PolicyReference("ns", "p", "uid")
    one = rules_of(InternalNetworkPolicy("uid", ref, 1, (a, b), ("atg",)))
    two = rules_of(InternalNetworkPolicy("uid", ref, 7, (b, a, a), ("atg",)))
    assert one.keys() == two.keys() and len(one) == 2
    edited = Rule(Direction.IN, Peer(("g1",), ()), (Service(Protocol.TCP, 81, None),))
    three = rules_of(InternalNetworkPolicy("uid", ref, 8, (edited, b), ("atg",)))
    assert len(three.keys() & one.keys()) == 1
    elsewhere = rules_of(InternalNetworkPolicy("uid", ref, 1, (a, b), ("atg2",)))
    assert not elsewhere.keys() & one.keys()


def test_conj_ids_are_reused_first_in_first_out_after_the_delay():
    now = [0.0]
    allocator = ConjIdAllocator(reuse_delay=5.0, clock=lambda: now[0])
    assert [allocator.allocate() for _ in range(3)] == [1, 2, 3]
    allocator.release(2)
    now[0] = 1.0
    allocator.release(1)
    assert allocator.allocate() == 4  # 2 and 1 are still cooling down
    now[0] = 5.0
    assert allocator.allocate() == 2
    assert allocator.allocate() == 5  # 1 comes back at 6.0
    now[0] = 6.0
    assert allocator.allocate() == 1
    with pytest.raises(ValueError, match="not allocated"):
        allocator.release(99)
    assert len(allocator) == 5
