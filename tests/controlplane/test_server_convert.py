"""What the agent refuses to decode, and the stream framing's equivalence with protobuf's own."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controlplane.server.framing import chunk, messages
from proto.controlplane.v1beta1 import controlplane_pb2 as pb
from pyantrea_api.convert import ConversionError, event_from_proto, report_from_proto, report_to_proto
from pyantrea_api.reports import Realization, StatusReport


def ev(kind_type: int, kind: int, name: str, **payload: object) -> pb.Event:
    return pb.Event(type=kind_type, kind=kind, name=name, **payload)


AG = pb.ADDRESS_GROUP
GROUP = pb.AddressGroup(name="g")
MEMBER = pb.GroupMember(pod=pb.PodReference(namespace="a", name="p"), ips=[bytes(4)], node="n1")


@pytest.mark.parametrize(
    ("event", "field"),
    [
        pytest.param(
            pb.Event(type=pb.ADDED, kind=pb.ADDRESS_GROUP, name="g"), "Event.object", id="no-object"
        ),
        pytest.param(
            pb.Event(
                type=pb.DELETED, kind=pb.ADDRESS_GROUP, name="g", address_group=pb.AddressGroup(name="g")
            ),
            "Event.object",
            id="deleted-with-object",
        ),
        pytest.param(
            pb.Event(
                type=pb.MODIFIED, kind=pb.ADDRESS_GROUP, name="g", address_group=pb.AddressGroup(name="g")
            ),
            "Event.object",
            id="modified-group-not-a-patch",
        ),
        pytest.param(
            pb.Event(type=pb.MODIFIED, kind=pb.NETWORK_POLICY, name="p", patch=pb.GroupPatch(name="p")),
            "Event.object",
            id="patch-of-a-policy",
        ),
        pytest.param(
            pb.Event(
                type=pb.ADDED, kind=pb.APPLIED_TO_GROUP, name="g", address_group=pb.AddressGroup(name="g")
            ),
            "Event.object",
            id="kind-mismatch",
        ),
        pytest.param(
            pb.Event(type=pb.ADDED, kind=pb.ADDRESS_GROUP, name="g", address_group=pb.AddressGroup(name="h")),
            "Event.name",
            id="name-mismatch",
        ),
        pytest.param(pb.Event(type=pb.ADDED, kind=0, name="g"), "Event.kind", id="no-kind"),
        pytest.param(pb.Event(type=pb.INITIAL_EVENTS_END), "Event.type", id="marker"),
        pytest.param(
            pb.Event(
                type=pb.ADDED,
                kind=pb.ADDRESS_GROUP,
                name="g",
                address_group=pb.AddressGroup(
                    name="g", members=[pb.GroupMember(pod=MEMBER.pod, ips=[b"\x01\x02\x03"])]
                ),
            ),
            "GroupMember.ips",
            id="short-ip",
        ),
        pytest.param(
            pb.Event(
                type=pb.ADDED,
                kind=pb.NETWORK_POLICY,
                name="p",
                network_policy=pb.NetworkPolicy(
                    name="p",
                    rules=[
                        pb.Rule(
                            direction=pb.IN,
                            peer=pb.Peer(
                                ip_blocks=[pb.IPBlock(cidr=pb.IPNet(ip=bytes(4), prefix_length=40))]
                            ),
                        )
                    ],
                ),
            ),
            "IPBlock.cidr.prefix_length",
            id="long-prefix",
        ),
        pytest.param(
            pb.Event(
                type=pb.ADDED,
                kind=pb.NETWORK_POLICY,
                name="p",
                network_policy=pb.NetworkPolicy(name="p", rules=[pb.Rule()]),
            ),
            "Rule.direction",
            id="no-direction",
        ),
    ],
)
def test_undecodable_events_name_the_field(event: pb.Event, field: str) -> None:
    with pytest.raises(ConversionError) as refused:
        event_from_proto(event)
    assert refused.value.field == field


def test_reports_round_trip() -> None:
    report = StatusReport("n1", False, (Realization("u1", 3, None), Realization("u2", 1, "boom")), ("u3",))
    assert (
        report_from_proto(pb.StatusReport.FromString(report_to_proto(report).SerializeToString())) == report
    )


names = st.text(max_size=300)


@given(st.lists(names, max_size=20), st.integers(1, 2000))
def test_messages_are_watch_batches_of_the_events_in_order(texts: list[str], max_bytes: int) -> None:
    events = [
        pb.Event(type=pb.DELETED, kind=pb.NETWORK_POLICY, name=text, resource_version=i)
        for i, text in enumerate(texts)
    ]
    chunks = [chunk(event) for event in events]
    batches = list(messages(chunks, max_bytes))
    decoded = [event for batch in batches for event in pb.WatchBatch.FromString(batch).events]
    assert decoded == events
    assert all(len(batch) <= max_bytes or batch in chunks for batch in batches)
    assert b"".join(batches) == pb.WatchBatch(events=events).SerializeToString()
