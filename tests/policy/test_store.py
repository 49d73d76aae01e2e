"""The agent's policy store and the typed changes it makes of events, the files it is saved in,
and the realization reports, without a controller."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.controller.filestore import DIRECTORIES, FileStore
from agent.controller.reporter import RealizationReporter
from agent.policy.store import (
    AddressGroupDeleted,
    AddressGroupPatched,
    AddressGroupSet,
    AppliedToGroupDeleted,
    AppliedToGroupSet,
    PolicyDeleted,
    PolicySet,
    PolicyStore,
    StateError,
)
from pyantrea_api.events import EventType, NodeEvent, ObjectKind
from pyantrea_api.ipnet import parse_cidr, parse_ip
from pyantrea_api.objects import (
    AddressGroup,
    AppliedToGroup,
    Direction,
    GroupMember,
    GroupPatch,
    InternalNetworkPolicy,
    IPBlock,
    NamedPort,
    Peer,
    PolicyReference,
    Protocol,
    Rule,
    Service,
)
from pyantrea_api.reports import Realization, StatusReport

ADDED, MODIFIED, DELETED = EventType.ADDED, EventType.MODIFIED, EventType.DELETED
NP, AG, ATG = ObjectKind.NETWORK_POLICY, ObjectKind.ADDRESS_GROUP, ObjectKind.APPLIED_TO_GROUP

WEB = GroupMember(
    "prod", "web", (parse_ip("10.0.0.1"), parse_ip("fd00::1")), (NamedPort("http", 80, Protocol.TCP),), "n1"
)
DB = GroupMember("prod", "db", (parse_ip("10.0.0.2"),), (), "n2")
POLICY = InternalNetworkPolicy(
    "uid-1",
    PolicyReference("prod", "web", "uid-1"),
    2,
    (
        Rule(
            Direction.IN,
            Peer(("ag",), (IPBlock(parse_cidr("10.0.0.0/8"), (parse_cidr("10.1.0.0/16"),)),)),
            (
                Service(Protocol.TCP, "http", None),
                Service(Protocol.SCTP, 1000, 2000),
                Service(Protocol.UDP, None, None),
            ),
        ),
    ),
    ("atg",),
)


def event(kind_type: EventType, kind: ObjectKind, name: str, obj: object = None) -> NodeEvent:
    return NodeEvent(kind_type, kind, 7, name, obj)  # type: ignore[arg-type]


def populated() -> PolicyStore:
    state = PolicyStore()
    state.apply(event(ADDED, AG, "ag", AddressGroup("ag", (DB,))))
    state.apply(event(ADDED, ATG, "atg", AppliedToGroup("atg", (WEB,))))
    state.apply(event(ADDED, NP, "uid-1", POLICY))
    return state


def test_patches_replace_members_by_identity() -> None:
    state = populated()
    moved = GroupMember("prod", "db", (parse_ip("10.0.0.9"),), (), "n3")
    state.apply(event(MODIFIED, AG, "ag", GroupPatch("ag", (moved, WEB), (DB,))))
    assert set(state.snapshot().address_groups["ag"].members) == {moved, WEB}
    state.apply(event(DELETED, NP, "uid-1"))
    assert dict(state.snapshot().policies) == {}


def test_each_event_becomes_one_typed_change():
    store = PolicyStore()
    assert store.apply(event(ADDED, NP, "uid-1", POLICY)) == PolicySet(POLICY)
    assert store.apply(event(ADDED, AG, "ag", AddressGroup("ag", (WEB,)))) == AddressGroupSet(
        AddressGroup("ag", (WEB,))
    )
    assert store.apply(event(ADDED, ATG, "atg", AppliedToGroup("atg", (WEB,)))) == AppliedToGroupSet(
        AppliedToGroup("atg", (WEB,))
    )
    patch = GroupPatch("ag", (DB,), (WEB,))
    assert store.apply(event(MODIFIED, AG, "ag", patch)) == AddressGroupPatched("ag", patch)
    # An AppliedToGroup's change is told as its members after the patch.
    changed = store.apply(event(MODIFIED, ATG, "atg", GroupPatch("atg", (DB,), ())))
    assert changed == AppliedToGroupSet(AppliedToGroup("atg", (WEB, DB)))
    assert store.apply(event(DELETED, AG, "ag")) == AddressGroupDeleted("ag")
    assert store.apply(event(DELETED, ATG, "atg")) == AppliedToGroupDeleted("atg")
    assert store.apply(event(DELETED, NP, "uid-1")) == PolicyDeleted("uid-1")
    assert len(store) == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            event(MODIFIED, AG, "nope", GroupPatch("nope", (WEB,), ())),
            "patch of unknown",
        ),
        (
            event(MODIFIED, NP, "nope", POLICY),
            "MODIFIED of unknown NetworkPolicy",
        ),
        (event(DELETED, ATG, "nope"), "DELETED of unknown AppliedToGroup"),
        (event(DELETED, NP, "nope"), "DELETED of unknown NetworkPolicy"),
        (
            event(MODIFIED, AG, "ag", AddressGroup("ag", ())),
            "carries AddressGroup",
        ),
    ],
)
def test_events_that_do_not_fit_are_refused(bad: NodeEvent, message: str) -> None:
    with pytest.raises(StateError, match=message):
        populated().apply(bad)


def test_files_round_trip_and_follow_changes(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state")
    assert store.load() is None
    state = populated()
    store.save_all(state.snapshot())
    assert store.load() == state.snapshot()
    store.save([(NP, "uid-1", None), (AG, "ag", AddressGroup("ag", ()))])
    loaded = store.load()
    assert loaded is not None and dict(loaded.policies) == {} and loaded.address_groups["ag"].members == ()
    store.save_all(PolicyStore().snapshot())
    assert store.load() is None


def test_unreadable_files_are_skipped(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.save_all(populated().snapshot())
    policies = tmp_path / DIRECTORIES[NP]
    (policies / "uid-1").write_bytes(b"\xff\xff not a message")
    (tmp_path / DIRECTORIES[AG] / "ag").rename(tmp_path / DIRECTORIES[AG] / "other")
    loaded = store.load()
    assert loaded is not None
    assert dict(loaded.policies) == {} and dict(loaded.address_groups) == {}
    assert list(loaded.applied_to_groups) == ["atg"]
    with pytest.raises(ValueError, match="cannot be a file name"):
        store.save([(NP, "../escape", POLICY)])


def test_reports_are_full_after_a_resync_then_changes() -> None:
    reporter = RealizationReporter("n1")
    reporter.record(Realization("u1", 1, None))
    reporter.record(Realization("u2", 1, "boom"))
    first = reporter.take()
    assert first == StatusReport("n1", True, (Realization("u1", 1, None), Realization("u2", 1, "boom")), ())
    assert not reporter.pending
    reporter.record(Realization("u1", 1, None))  # unchanged: nothing to say
    assert not reporter.pending
    reporter.record(Realization("u2", 2, None))
    reporter.retain({"u2"})
    assert reporter.take() == StatusReport("n1", False, (Realization("u2", 2, None),), ("u1",))
    reporter.resend_all()
    assert reporter.take() == StatusReport("n1", True, (Realization("u2", 2, None),), ())
