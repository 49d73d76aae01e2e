"""The agent's policy store, the typed changes it makes of events and the rules they touch, the
files it is saved in, and the realization reports, without a controller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from agent.controller.filestore import DIRECTORIES, FileStore
from agent.controller.reporter import RealizationReporter
from agent.policy.addresses import address
from agent.policy.dirty import Dirty
from agent.policy.store import (
    AddressGroupDeleted,
    AddressGroupPatched,
    AddressGroupSet,
    AppliedToGroupDeleted,
    AppliedToGroupSet,
    Change,
    InitialEvents,
    PolicyDeleted,
    PolicySet,
    PolicySnapshot,
    PolicyStore,
    StateError,
    StateSource,
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
    state.apply([event(ADDED, AG, "ag", AddressGroup("ag", (DB,)))])
    state.apply([event(ADDED, ATG, "atg", AppliedToGroup("atg", (WEB,)))])
    state.apply([event(ADDED, NP, "uid-1", POLICY)])
    return state


def test_patches_replace_members_by_identity() -> None:
    state = populated()
    moved = GroupMember("prod", "db", (parse_ip("10.0.0.9"),), (), "n3")
    state.apply([event(MODIFIED, AG, "ag", GroupPatch("ag", (moved, WEB), (DB,)))])
    assert set(state.snapshot().address_groups["ag"].members) == {moved, WEB}
    state.apply([event(DELETED, NP, "uid-1")])
    assert dict(state.snapshot().policies) == {}


def test_each_event_becomes_one_typed_change():
    store = PolicyStore()
    assert store.apply([event(ADDED, NP, "uid-1", POLICY)]) == [PolicySet(POLICY)]
    assert store.apply([event(ADDED, AG, "ag", AddressGroup("ag", (WEB,)))]) == [
        AddressGroupSet(AddressGroup("ag", (WEB,)))
    ]
    assert store.apply([event(ADDED, ATG, "atg", AppliedToGroup("atg", (WEB,)))]) == [
        AppliedToGroupSet(AppliedToGroup("atg", (WEB,)))
    ]
    patch = GroupPatch("ag", (DB,), (WEB,))
    assert store.apply([event(MODIFIED, AG, "ag", patch)]) == [AddressGroupPatched("ag", patch)]
    # An AppliedToGroup's change is told as its members after the patch.
    changed = store.apply([event(MODIFIED, ATG, "atg", GroupPatch("atg", (DB,), ()))])
    assert changed == [AppliedToGroupSet(AppliedToGroup("atg", (WEB, DB)))]
    assert store.apply(
        [event(DELETED, AG, "ag"), event(DELETED, ATG, "atg"), event(DELETED, NP, "uid-1")]
    ) == [
        AddressGroupDeleted("ag"),
        AppliedToGroupDeleted("atg"),
        PolicyDeleted("uid-1"),
    ]
    assert len(store) == 0


class Listener:
    """Records what the store tells its listeners."""

    def __init__(self) -> None:
        self.told: list[tuple[list[Change], Dirty]] = []

    def on_replace(self, snapshot: PolicySnapshot, source: StateSource, dirty: Dirty) -> None:
        self.told.append(([], dirty))

    def on_changes(self, changes: Sequence[Change], dirty: Dirty) -> None:
        self.told.append((list(changes), dirty))


def test_the_store_tells_its_listeners_which_rules_each_change_touches() -> None:
    store, listener = populated(), Listener()
    store.add_listener(listener)
    [rule] = store.policy_rules("uid-1")
    assert store.realizable(rule) and store.rules_applied_to(("prod", "web")) == {rule.id}
    # A member joins the AddressGroup: only the addresses it holds are to be checked, per rule.
    joined = GroupMember("prod", "db2", (parse_ip("10.0.0.3"),), (), "n2")
    store.apply([event(MODIFIED, AG, "ag", GroupPatch("ag", (joined,), ()))])
    assert listener.told[-1][1] == Dirty(addresses={rule.id: {address(0x0A000003)}})
    # The AppliedToGroup loses web: the rule is recomputed, and web's attachment touches no rule.
    store.apply([event(MODIFIED, ATG, "atg", GroupPatch("atg", (), (WEB,)))])
    assert listener.told[-1][1] == Dirty(rules={rule.id})
    assert store.rules_applied_to(("prod", "web")) == set()
    # An edit makes a new rule: the old one goes, both are dirty, the policy is to be reported.
    edited = replace(POLICY, generation=3, rules=(replace(POLICY.rules[0], services=()),))
    store.apply([event(MODIFIED, NP, "uid-1", edited)])
    [new] = store.policy_rules("uid-1")
    assert new.id != rule.id and store.rule(rule.id) is None
    assert listener.told[-1][1] == Dirty(rules={rule.id, new.id}, policies={"uid-1"})
    # The group goes: the rule cannot be realized.
    store.apply([event(DELETED, AG, "ag")])
    assert listener.told[-1][1] == Dirty(rules={new.id}) and not store.realizable(new)
    # A replace names every rule before and after, and the policies gone.
    store.replace(PolicyStore().snapshot(), StateSource.FILES)
    assert listener.told[-1][1] == Dirty(rules={new.id}, deleted={"uid-1"})
    assert len(store) == 0 and dict(store.rules()) == {}


def test_a_batch_that_does_not_fit_still_tells_what_it_applied() -> None:
    store, listener = populated(), Listener()
    store.add_listener(listener)
    with pytest.raises(StateError, match="DELETED of unknown NetworkPolicy nope"):
        store.apply([event(DELETED, NP, "uid-1"), event(DELETED, NP, "nope")])
    [(changes, dirty)] = listener.told
    assert changes == [PolicyDeleted("uid-1")] and dirty.deleted == {"uid-1"}


def test_initial_events_are_added_objects_only() -> None:
    initial = InitialEvents()
    initial.add(event(ADDED, NP, "uid-1", POLICY))
    with pytest.raises(StateError, match="MODIFIED event among the initial events"):
        initial.add(event(MODIFIED, NP, "uid-1", POLICY))
    with pytest.raises(StateError, match="ADDED AddressGroup ag carries InternalNetworkPolicy"):
        initial.add(event(ADDED, AG, "ag", POLICY))
    assert dict(initial.snapshot().policies) == {"uid-1": POLICY}


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
        populated().apply([bad])


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
