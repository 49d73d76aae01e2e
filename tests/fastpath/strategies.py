"""Hypothesis strategies for random matches, actions and flows."""

from __future__ import annotations

from hypothesis import strategies as st

from fastpath import Bucket, Flow, Group, Match
from fastpath import actions as A
from fastpath.fields import BY_NAME

_PLAIN_FIELDS = [
    "pkt_mark", "conj_id", "ct_state", "ct_zone", "ct_mark", "ct_label", "reg0", "reg1", "reg3", "reg7",
    "tun_id", "tun_dst", "in_port", "dl_src", "dl_dst",
]  # fmt: skip
_IP_FIELDS = ["nw_src", "nw_dst"]
_PROTO_FIELDS = {"tcp": ["tcp_src", "tcp_dst"], "udp": ["udp_src", "udp_dst"], "sctp": ["sctp_dst"]}
_ARP_FIELDS = ["arp_op", "arp_spa", "arp_tpa", "arp_sha", "arp_tha"]


@st.composite
def field_values(draw, name: str):
    field = BY_NAME[name]
    value = draw(st.integers(0, field.full_mask))
    if field.maskable and draw(st.booleans()):
        return (value, draw(st.integers(0, field.full_mask)))
    return value


@st.composite
def matches(draw) -> Match:
    names = draw(st.lists(st.sampled_from(_PLAIN_FIELDS), max_size=4, unique=True))
    kind = draw(st.sampled_from(["none", "ip", "tcp", "udp", "sctp", "icmp", "arp"]))
    kwargs = {name: draw(field_values(name)) for name in names}
    if kind != "none":
        kwargs[kind] = True
    if kind in ("ip", "tcp", "udp", "sctp", "icmp"):
        for name in draw(st.lists(st.sampled_from(_IP_FIELDS), max_size=2, unique=True)):
            kwargs[name] = draw(field_values(name))
    if kind in _PROTO_FIELDS:
        for name in draw(st.lists(st.sampled_from(_PROTO_FIELDS[kind]), max_size=2, unique=True)):
            kwargs[name] = draw(field_values(name))
    if kind == "icmp" and draw(st.booleans()):
        kwargs["icmp_type"] = draw(st.integers(0, 255))
    if kind == "arp":
        for name in draw(st.lists(st.sampled_from(_ARP_FIELDS), max_size=3, unique=True)):
            kwargs[name] = draw(field_values(name))
    return Match(**kwargs)


def nats():
    """nat(src|dst=IP[-IP][:PORT[-PORT]])."""
    ip = st.integers(0, 2**32 - 2)
    port = st.integers(0, 65534)

    @st.composite
    def build(draw):
        ip_min = draw(ip)
        ip_max = draw(st.one_of(st.none(), st.integers(ip_min, 2**32 - 1)))
        port_min = draw(st.one_of(st.none(), port))
        port_max = None if port_min is None else draw(st.one_of(st.none(), st.integers(port_min, 65535)))
        return A.Nat(draw(st.sampled_from(["src", "dst"])), ip_min, ip_max, port_min, port_max)

    return build()


def learns():
    """learn() with the specs session affinity uses and a few more."""
    specs = st.lists(
        st.one_of(
            st.builds(A.learn_match, st.sampled_from(["nw_src", "nw_dst", "tcp_dst", "udp_dst", "reg3"])),
            st.builds(A.learn_match, st.just("nw_dst"), src=st.just("nw_src")),
            st.builds(A.learn_match, st.just("dl_type"), value=st.just(0x800)),
            st.builds(A.learn_match, st.just("nw_proto"), value=st.sampled_from([6, 17, 132])),
            st.builds(A.learn_load, st.sampled_from(["reg3", "reg7"])),
            st.builds(A.learn_load, st.just("reg4"), st.just(0), st.just(15)),
            st.builds(A.learn_load, st.just("reg4"), st.just(16), st.just(18), value=st.integers(0, 7)),
        ),
        max_size=6,
    )
    return st.builds(
        A.Learn,
        st.integers(0, 254),
        priority=st.integers(0, 65535),
        idle_timeout=st.integers(0, 65535),
        hard_timeout=st.integers(0, 65535),
        cookie=st.integers(0, 2**64 - 1),
        delete_learned=st.booleans(),
        specs=specs,
    )


def simple_actions():
    return st.one_of(
        st.builds(A.Output, st.integers(1, 1000)),
        st.builds(A.Resubmit, st.integers(0, 254)),
        st.builds(A.Conjunction, st.integers(0, 2**32 - 1), st.just(1), st.integers(2, 4)),
        st.builds(A.SetField, st.just("reg1"), st.integers(0, 2**32 - 1)),
        st.builds(A.load, st.just("reg0"), st.integers(0, 1), st.integers(0, 31)),
        st.builds(A.DecTtl),
        st.builds(A.Group, st.integers(0, 100)),
        st.builds(A.OutputReg, st.just("reg1")),
        learns(),
        st.builds(
            A.Move, st.just("reg0"), st.just("reg1"), st.integers(0, 15), st.integers(0, 15), st.just(16)
        ),
        st.builds(
            A.Ct,
            commit=st.just(True),
            table=st.one_of(st.none(), st.integers(0, 254)),
            zone=st.integers(0, 65535),
            nat=st.one_of(st.booleans(), nats()),
            actions=st.lists(
                st.one_of(
                    st.builds(A.SetField, st.just("ct_mark"), st.integers(0, 2**32 - 1)),
                    st.builds(
                        A.Move,
                        st.sampled_from(["reg5", "reg6"]),
                        st.just("ct_label"),
                        st.just(0),
                        st.sampled_from([0, 32, 64, 96]),
                        st.just(32),
                    ),
                ),
                max_size=2,
            ),
        ),
    )


@st.composite
def action_lists(draw):
    actions = draw(st.lists(simple_actions(), max_size=4))
    if draw(st.booleans()):
        actions.append(A.GotoTable(draw(st.integers(0, 254))))
    return actions


@st.composite
def flows(draw, table=None, priority=None) -> Flow:
    return Flow(
        draw(st.integers(0, 254)) if table is None else table,
        draw(st.integers(0, 65535)) if priority is None else priority,
        draw(matches()),
        draw(action_lists()),
        draw(st.integers(0, 2**64 - 1)),
    )


def buckets():
    return st.builds(
        Bucket,
        st.lists(simple_actions().filter(lambda a: not isinstance(a, A.Learn)), max_size=3),
        weight=st.integers(0, 65535),
    )


@st.composite
def groups(draw, group_id=None) -> Group:
    kind = draw(st.sampled_from(["select", "all"]))
    method = draw(st.sampled_from([None, "hash", "dp_hash"])) if kind == "select" else None
    fields = draw(st.sampled_from([(), ("nw_src", "udp_dst")])) if method == "hash" else ()
    return Group(
        draw(st.integers(0, 50)) if group_id is None else group_id,
        draw(st.lists(buckets(), max_size=4)),
        kind,
        method,
        fields,
    )
