"""A controller core (engine + store) fed with JSON objects, and readable views of its output."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from controlplane.compute.engine import PolicyEngine
from controlplane.compute.kubeparse import (
    namespace_from_k8s,
    network_policy_or_invalid,
    node_from_k8s,
    pod_from_k8s,
)
from controlplane.store.events import StoreEvent
from controlplane.store.versioned import Store
from pyantrea_api.ipnet import format_ip
from pyantrea_api.objects import GroupMember, Service


class Cluster:
    """Hands Kubernetes objects to an engine and keeps its output in a store."""

    def __init__(self) -> None:
        self.engine = PolicyEngine()
        self.store = Store()

    def apply(self, *objects: dict[str, Any]) -> list[StoreEvent]:
        """Adds or updates the objects, then syncs; returns the store events."""
        for obj in objects:
            kind = obj["kind"]
            if kind == "Namespace":
                self.engine.upsert_namespace(namespace_from_k8s(obj))
            elif kind == "Node":
                self.engine.upsert_node(node_from_k8s(obj))
            elif kind == "Pod":
                self.engine.upsert_pod(pod_from_k8s(obj))
            else:
                self.engine.upsert_policy(network_policy_or_invalid(obj))
        return self.store.apply(self.engine.sync())

    def delete(self, kind: str, name: str, namespace: str = "") -> list[StoreEvent]:
        if kind == "Namespace":
            self.engine.delete_namespace(name)
        elif kind == "Node":
            self.engine.delete_node(name)
        elif kind == "Pod":
            self.engine.delete_pod(namespace, name)
        else:
            self.engine.delete_policy(namespace, name)
        return self.store.apply(self.engine.sync())

    def describe(self) -> dict[str, dict[str, Any]]:
        """Each policy by `ns/name`: its applied-to pods, span, and rules with peers as pods."""
        groups = self.store.address_groups()
        applied = self.store.applied_to_groups()
        result = {}
        for policy, span in self.store.policies().values():
            (atg,) = policy.applied_to_groups
            rules = []
            for rule in policy.rules:
                peers = set()
                for name in rule.peer.address_groups:
                    peers |= pod_names(groups[name][0])
                blocks = tuple(block_text(b.cidr, b.excepts) for b in rule.peer.ip_blocks)
                rules.append(
                    (rule.direction.value, peers, blocks, tuple(service_tuple(s) for s in rule.services))
                )
            ref = policy.source_ref
            result[f"{ref.namespace}/{ref.name}"] = {
                "applied_to": pod_names(applied[atg][0]),
                "span": set(span),
                "rules": rules,
            }
        return result


def pod_names(members: Iterable[GroupMember]) -> set[str]:
    return {f"{m.namespace}/{m.name}" for m in members}


def block_text(cidr: Any, excepts: Iterable[Any]) -> str:
    text = str(cidr)
    excepted = [str(e) for e in excepts]
    return f"{text} except {','.join(excepted)}" if excepted else text


def service_tuple(service: Service) -> tuple[str, int | str | None, int | None]:
    return (service.protocol.value, service.port, service.end_port)


def ips(member: GroupMember) -> list[str]:
    return [format_ip(ip) for ip in member.ips]
