"""The object store: every object, one cluster-wide resourceVersion, bounded watch history.

All access happens on the server's event loop, so nothing here locks. Every write commits one
`Change` with the next resourceVersion (like etcd's revision), keeps it in a per-resource-type
history of bounded size (like the watch cache) and offers it to that type's open watchers. A
watch asking to resume from a resourceVersion older than the history is refused with 410 Gone;
one from the future (a client that saw a previous incarnation of the store) with 504
"Too large resource version", as upstream. Writes that change nothing commit nothing.
"""

from __future__ import annotations

import datetime
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lab.apiserver import strategy
from lab.apiserver.errors import ApiError, already_exists, bad_request, gone, invalid, not_found
from lab.apiserver.ipalloc import ClusterIPAllocator
from lab.apiserver.patches import apply_patch
from lab.apiserver.resources import ALL, NAMESPACES, SERVICES, ResourceType, by_kind
from lab.apiserver.selectors import FieldSelector, LabelSelector
from lab.apiserver.watch import ADDED, DELETED, MODIFIED, Change, Stored, Watcher, bookmark_line, event_line

Key = tuple[str, str]
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """Objects by type and (namespace, name), with history and watchers per type."""

    def __init__(self, *, history_size: int, max_pending: int, service_cidr: str) -> None:
        self._history_size = history_size
        self._max_pending = max_pending
        self._rv = 0
        self._objects: dict[ResourceType, dict[Key, Stored]] = {rtype: {} for rtype in ALL}
        self._history: dict[ResourceType, deque[Change]] = {rtype: deque() for rtype in ALL}
        self._compacted: dict[ResourceType, int] = dict.fromkeys(ALL, 0)
        self._watchers: dict[ResourceType, set[Watcher]] = {rtype: set() for rtype in ALL}
        self._cluster_ips = ClusterIPAllocator(service_cidr)
        self.on_commit: Callable[[], None] | None = None

    @property
    def resource_version(self) -> int:
        return self._rv

    # -- state ------------------------------------------------------------------------------

    def bootstrap(self) -> None:
        """Create the namespaces every cluster starts with."""
        for name in SYSTEM_NAMESPACES:
            self.create(NAMESPACES, None, {"metadata": {"name": name}})

    def restore(self, resource_version: int, objects: Iterable[dict[str, Any]]) -> None:
        """Load a saved state; history starts empty, so older resourceVersions are Gone."""
        for obj in objects:
            rtype = by_kind(obj.get("apiVersion", ""), obj.get("kind", ""))
            if rtype is None:
                raise ValueError(
                    f"saved object has unknown apiVersion/kind: {obj.get('apiVersion')}/{obj.get('kind')}"
                )
            metadata = obj["metadata"]
            self._objects[rtype][(metadata.get("namespace", ""), metadata["name"])] = Stored.of(obj)
            if rtype is SERVICES:
                self._reserve_cluster_ip(obj)
        self._rv = resource_version
        self._compacted = dict.fromkeys(ALL, resource_version)

    def snapshot(self) -> tuple[int, list[bytes]]:
        """The resourceVersion and the JSON of every object, for persistence."""
        return self._rv, [stored.raw for table in self._objects.values() for stored in table.values()]

    # -- reads ------------------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> Stored:
        stored = self._objects[rtype].get((namespace or "", name))
        if stored is None:
            raise not_found(rtype, name)
        return stored

    def list(
        self, rtype: ResourceType, namespace: str | None, labels: LabelSelector, fields: FieldSelector
    ) -> tuple[int, list[Stored]]:
        return self._rv, list(self._matching(rtype, namespace, labels, fields))

    def _matching(
        self, rtype: ResourceType, namespace: str | None, labels: LabelSelector, fields: FieldSelector
    ) -> Iterator[Stored]:
        for (ns, _), stored in self._objects[rtype].items():
            if namespace is not None and ns != namespace:
                continue
            if labels.matches(stored.data["metadata"].get("labels") or {}) and fields.matches(stored.data):
                yield stored

    # -- writes -----------------------------------------------------------------------------

    def create(self, rtype: ResourceType, namespace: str | None, body: Any) -> Stored:
        obj = strategy.prepare_create(rtype, namespace, body, _now())
        name = obj["metadata"]["name"]
        if rtype.namespaced and ("", namespace) not in self._objects[NAMESPACES]:
            raise not_found(NAMESPACES, namespace or "")
        key = (namespace or "", name)
        if key in self._objects[rtype]:
            raise already_exists(rtype, name)
        if rtype is SERVICES:
            self._allocate_cluster_ip(obj)
        return self._commit(rtype, key, None, obj)

    def update(
        self, rtype: ResourceType, namespace: str | None, name: str, body: Any, *, status_only: bool
    ) -> Stored:
        stored = self.get(rtype, namespace, name)
        current = json.loads(stored.raw)
        obj = strategy.prepare_update(rtype, current, body, status_only=status_only)
        return self._write(rtype, stored, obj)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        body: bytes,
        *,
        status_only: bool,
    ) -> Stored:
        stored = self.get(rtype, namespace, name)
        patched = apply_patch(content_type, json.loads(stored.raw), body, rtype.kind)
        obj = strategy.prepare_update(rtype, json.loads(stored.raw), patched, status_only=status_only)
        return self._write(rtype, stored, obj)

    def _write(self, rtype: ResourceType, stored: Stored, obj: dict[str, Any]) -> Stored:
        if rtype is SERVICES:
            self._keep_cluster_ip(stored.data, obj)
        obj["metadata"]["resourceVersion"] = stored.data["metadata"]["resourceVersion"]
        if obj == stored.data:
            return stored
        strategy.bump_generation(stored.data, obj)
        metadata = obj["metadata"]
        return self._commit(rtype, (metadata.get("namespace", ""), metadata["name"]), stored, obj)

    def delete(self, rtype: ResourceType, namespace: str | None, name: str, options: Any) -> Stored:
        stored = self.get(rtype, namespace, name)
        strategy.check_delete_preconditions(rtype, stored.data, options)
        if rtype is NAMESPACES:
            for member_type in ALL:
                if member_type.namespaced:
                    for key in [key for key in self._objects[member_type] if key[0] == name]:
                        self._remove(member_type, key)
        return self._remove(rtype, (namespace or "", name))

    def delete_collection(
        self, rtype: ResourceType, namespace: str | None, labels: LabelSelector, fields: FieldSelector
    ) -> list[Stored]:
        doomed = list(self._matching(rtype, namespace, labels, fields))
        return [
            self.delete(
                rtype, stored.data["metadata"].get("namespace"), stored.data["metadata"]["name"], None
            )
            for stored in doomed
        ]

    def _remove(self, rtype: ResourceType, key: Key) -> Stored:
        stored = self._objects[rtype][key]
        if rtype is SERVICES:
            self._cluster_ips.release((stored.data.get("spec") or {}).get("clusterIP") or "")
        last = json.loads(stored.raw)
        last["metadata"]["deletionTimestamp"] = last["metadata"].get("deletionTimestamp") or _now()
        if rtype is NAMESPACES:
            last.setdefault("status", {})["phase"] = "Terminating"
        return self._commit(rtype, key, stored, last, deleted=True)

    def _commit(
        self, rtype: ResourceType, key: Key, old: Stored | None, obj: dict[str, Any], *, deleted: bool = False
    ) -> Stored:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        new = Stored.of(obj)
        if deleted:
            del self._objects[rtype][key]
            event_type = DELETED
        else:
            self._objects[rtype][key] = new
            event_type = ADDED if old is None else MODIFIED
        change = Change(self._rv, event_type, old, new)
        history = self._history[rtype]
        history.append(change)
        while len(history) > self._history_size:
            self._compacted[rtype] = history.popleft().rv
        for watcher in self._watchers[rtype]:
            watcher.offer(change)
        if self.on_commit is not None:
            self.on_commit()
        return new

    # -- ClusterIPs -------------------------------------------------------------------------

    def _allocate_cluster_ip(self, obj: dict[str, Any]) -> None:
        spec = obj["spec"]
        requested = spec.get("clusterIP") or ""
        if requested == "None":
            spec["clusterIPs"] = ["None"]
            return
        if requested:
            why = self._cluster_ips.reserve(requested)
            if why:
                raise invalid(
                    SERVICES, obj["metadata"]["name"], [("spec.clusterIPs", f"Invalid value: {why}")]
                )
        else:
            spec["clusterIP"] = self._cluster_ips.allocate()
        spec["clusterIPs"] = [spec["clusterIP"]]

    def _keep_cluster_ip(self, old: dict[str, Any], obj: dict[str, Any]) -> None:
        allocated = (old.get("spec") or {}).get("clusterIP")
        spec = obj.setdefault("spec", {})
        if spec.get("clusterIP") in (None, ""):
            spec["clusterIP"] = allocated
            spec["clusterIPs"] = [allocated]
        elif spec["clusterIP"] != allocated:
            raise invalid(SERVICES, obj["metadata"]["name"], [("spec.clusterIPs[0]", "field is immutable")])

    def _reserve_cluster_ip(self, obj: dict[str, Any]) -> None:
        address = (obj.get("spec") or {}).get("clusterIP")
        if address and address != "None":
            self._cluster_ips.reserve(address)

    # -- watches ----------------------------------------------------------------------------

    def watch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        *,
        resource_version: str | None,
        bookmarks: bool,
        send_initial_events: bool | None,
    ) -> Watcher:
        """Open a watch: initial or replayed events are queued, then live changes follow."""
        watcher = Watcher(
            rtype, namespace, labels, fields, bookmarks=bookmarks, max_pending=self._max_pending
        )
        from_start = resource_version in (None, "", "0")
        if (send_initial_events is None and from_start) or send_initial_events:
            for stored in self._matching(rtype, namespace, labels, fields):
                watcher.push(event_line(ADDED, stored.raw))
            if send_initial_events and bookmarks:
                watcher.push(bookmark_line(rtype, self._rv, initial_events_end=True))
        elif not from_start:
            for change in self._replay(rtype, _parse_rv(resource_version)):
                watcher.offer(change)
        self._watchers[rtype].add(watcher)
        return watcher

    def _replay(self, rtype: ResourceType, since: int) -> list[Change]:
        if since > self._rv:
            raise ApiError(
                504,
                "Timeout",
                f"Timeout: Too large resource version: {since}, current: {self._rv}",
                details={
                    "causes": [
                        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
                    ],
                    "retryAfterSeconds": 1,
                },
            )
        if since < self._compacted[rtype]:
            raise gone(f"too old resource version: {since} ({self._compacted[rtype]})")
        changes: list[Change] = []
        for change in reversed(self._history[rtype]):
            if change.rv <= since:
                break
            changes.append(change)
        changes.reverse()
        return changes

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers[watcher.rtype].discard(watcher)

    def send_bookmarks(self) -> None:
        """Queue a BOOKMARK at the current resourceVersion on every watch that asked for them."""
        for rtype, watchers in self._watchers.items():
            line = bookmark_line(rtype, self._rv)
            for watcher in watchers:
                if watcher.bookmarks:
                    watcher.push(line)

    def close_watchers(self) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.close()


def _parse_rv(text: str | None) -> int:
    try:
        value = int(text or "")
    except ValueError:
        raise bad_request(f"invalid resource version: {text!r}") from None
    if value < 0:
        raise bad_request(f"invalid resource version: {text!r}")
    return value
