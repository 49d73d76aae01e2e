"""`pyantctl lab apply`, `delete`, `label` and `get`: kubectl's verbs on the lab's API."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from kubernetes.client import ApiException

from lab import applying, kinds
from lab.kinds import Kind
from lab.layout import LabLayout
from lab.manifests import DEFAULT_NAMESPACE, Manifest, read_manifests
from lab.session import LabSession, describe_api_error
from lab.tables import render
from lab.waiting import (
    Progress,
    cluster_policy_span,
    policy_span,
    progress_of_cluster_policy,
    progress_of_deployment,
    progress_of_pod,
    progress_of_policy,
    wait_for,
)
from pyantrea_kube.resources import NAMESPACES, PODS
from pyantrea_kube.rest import RestClient


def register(commands: Any) -> None:
    apply = commands.add_parser(
        "apply",
        help="create or update the objects of a YAML file",
        description="Create or update every object of multi-document YAML files (Namespace, Pod, "
        "Deployment, NetworkPolicy, Service), as `kubectl apply` does.",
    )
    apply.add_argument("-f", "--filename", action="append", required=True, metavar="FILE",
                       help="YAML file (repeatable; - for standard input)")  # fmt: skip
    apply.add_argument(
        "--wait",
        action="store_true",
        help="return once the file's pods run, its Deployments are ready and its NetworkPolicies are "
        "realized on every node that needs them",
    )
    apply.add_argument("--timeout", type=float, default=120.0, metavar="S", help="seconds --wait waits")
    apply.set_defaults(func=run_apply)

    delete = commands.add_parser(
        "delete",
        help="delete objects by file or by kind and name",
        description="Delete the objects of YAML files, or objects by kind and name.",
        usage="pyantctl lab delete -f FILE | pyantctl lab delete KIND NAME... [-n NS]",
    )
    delete.add_argument("-f", "--filename", action="append", metavar="FILE", help="YAML file (repeatable)")
    delete.add_argument("kind", nargs="?", help="kind, as kubectl names it (pods, po, netpol, ...)")
    delete.add_argument("names", nargs="*", metavar="NAME")
    delete.add_argument("-n", "--namespace", default=DEFAULT_NAMESPACE, help="namespace (default: default)")
    delete.set_defaults(func=run_delete)

    label = commands.add_parser(
        "label",
        help="set or remove labels: KEY=VALUE sets, KEY- removes",
        description="Set (KEY=VALUE) or remove (KEY-) labels of one object, as `kubectl label` does.",
    )
    label.add_argument("kind", help="kind, as kubectl names it (pods, ns, ...)")
    label.add_argument("name")
    label.add_argument("changes", nargs="+", metavar="KEY=VALUE|KEY-")
    label.add_argument("-n", "--namespace", default=DEFAULT_NAMESPACE, help="namespace (default: default)")
    label.add_argument(
        "--overwrite",
        action="store_true",
        help="change labels that already have another value (without it, such a change is refused)",
    )
    label.set_defaults(func=run_label)

    get = commands.add_parser(
        "get",
        help="list objects, like kubectl get (pods with IP and node)",
        description="List objects of a kind as `kubectl get` does; pods show their IP and node.",
    )
    get.add_argument(
        "kind", help="pods, nodes, namespaces, deployments, networkpolicies, services, endpoints"
    )
    get.add_argument("name", nargs="?", help="only this object")
    scope = get.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", default=DEFAULT_NAMESPACE, help="namespace (default: default)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    get.add_argument(
        "-o", "--output", choices=("wide", "json"), help="more columns, or the full objects as JSON"
    )
    get.set_defaults(func=run_get)


def _session() -> LabSession:
    return LabSession(LabLayout.from_environment())


def _namespace_of(kind: Kind, namespace: str) -> str | None:
    return namespace if kind.namespaced else None


def run_apply(args: argparse.Namespace) -> int:
    manifests = [m for path in args.filename for m in read_manifests(path)]
    rest = _session().rest
    # Namespaces first, so a file may list a namespace after the objects that live in it.
    ordered = sorted(manifests, key=lambda m: m.kind is not kinds.NAMESPACE)
    failed = False
    for manifest in ordered:
        try:
            print(f"{manifest.title} {applying.apply(rest, manifest)}", flush=True)
        except ApiException as exc:
            print(f"{manifest.where}: {describe_api_error(exc)}", file=sys.stderr)
            failed = True
    if failed:
        return 1
    if args.wait:
        _wait_for_file(rest, manifests, args.timeout)
    return 0


def _wait_for_file(rest: RestClient, manifests: list[Manifest], timeout: float) -> None:
    pods = [m for m in manifests if m.kind is kinds.POD]
    deployments = [m for m in manifests if m.kind is kinds.DEPLOYMENT]
    policies = [m for m in manifests if m.kind is kinds.NETWORK_POLICY]
    cluster_policies = [
        m
        for m in manifests
        if m.kind in (kinds.CLUSTER_NETWORK_POLICY, kinds.CLUSTER_NETWORK_POLICY_V1ALPHA2)
    ]
    if not pods and not deployments and not policies and not cluster_policies:
        return
    started = time.monotonic()

    def check() -> dict[str, Progress]:
        progress = {}
        for manifest in pods:
            pod = rest.get(PODS, manifest.namespace, manifest.name)
            progress[f"pod {manifest.namespace}/{manifest.name}"] = progress_of_pod(pod)
        for manifest in deployments:
            deployment = rest.get(manifest.kind.resource, manifest.namespace, manifest.name)
            # A Deployment owns ReplicaSets, which own its pods.
            owners = {deployment["metadata"]["uid"]} | {
                replica_set["metadata"]["uid"]
                for replica_set in rest.list(kinds.REPLICA_SETS, namespace=manifest.namespace).items
                if _owned_by(replica_set, {deployment["metadata"]["uid"]})
            }
            owned = [
                pod for pod in rest.list(PODS, namespace=manifest.namespace).items if _owned_by(pod, owners)
            ]
            progress[f"deployment {manifest.namespace}/{manifest.name}"] = progress_of_deployment(
                deployment, owned
            )
        for manifest in policies:
            policy = rest.get(manifest.kind.resource, manifest.namespace, manifest.name)
            span = policy_span(policy, rest.list(PODS, namespace=manifest.namespace).items)
            progress[f"networkpolicy {manifest.namespace}/{manifest.name}"] = progress_of_policy(policy, span)
        if cluster_policies:
            namespaces = rest.list(NAMESPACES).items
            every_pod = rest.list(PODS).items
        for manifest in cluster_policies:
            policy = rest.get(kinds.CLUSTER_NETWORK_POLICY.resource, None, manifest.name)
            span = cluster_policy_span(policy, namespaces, every_pod)
            progress[f"clusternetworkpolicy {manifest.name}"] = progress_of_cluster_policy(policy, span)
        return progress

    wait_for(check, timeout=timeout, what="the file's objects")
    what = [f"{len(found)} {plural if len(found) > 1 else name}" for name, plural, found in
            (("pod", "pods", pods), ("deployment", "deployments", deployments),
             ("networkpolicy", "networkpolicies", policies),
             ("clusternetworkpolicy", "clusternetworkpolicies", cluster_policies)) if found]  # fmt: skip
    print(f"{', '.join(what)} ready after {time.monotonic() - started:.1f}s")


def run_delete(args: argparse.Namespace) -> int:
    if args.filename and args.kind:
        print("error: give either -f FILE or KIND NAME, not both", file=sys.stderr)
        return 2
    targets: list[tuple[Kind, str | None, str]] = []
    if args.filename:
        manifests = [m for path in args.filename for m in read_manifests(path)]
        # Namespaces last: deleting one deletes what is in it.
        for manifest in sorted(manifests, key=lambda m: m.kind is kinds.NAMESPACE):
            targets.append((manifest.kind, manifest.namespace, manifest.name))
    else:
        if not args.kind or not args.names:
            print("error: give -f FILE, or KIND and at least one NAME", file=sys.stderr)
            return 2
        kind = kinds.by_name(args.kind)
        targets = [(kind, _namespace_of(kind, args.namespace), name) for name in args.names]
    rest = _session().rest
    failed = False
    for kind, namespace, name in targets:
        try:
            rest.delete(kind.resource, namespace, name)
        except ApiException as exc:
            print(describe_api_error(exc), file=sys.stderr)
            failed = True
            continue
        print(f'{kind.qualified} "{name}" deleted', flush=True)
    return 1 if failed else 0


def _owned_by(obj: dict[str, Any], owners: set[str]) -> bool:
    return any(ref.get("uid") in owners for ref in obj["metadata"].get("ownerReferences") or ())


def run_label(args: argparse.Namespace) -> int:
    kind = kinds.by_name(args.kind)
    changed = applying.label(
        _session().rest,
        kind,
        _namespace_of(kind, args.namespace),
        args.name,
        args.changes,
        overwrite=args.overwrite,
    )
    print(f"{kind.qualified}/{args.name} {'labeled' if changed else 'not labeled'}")
    return 0


def run_get(args: argparse.Namespace) -> int:
    kind = kinds.by_name(args.kind)
    rest = _session().rest
    namespace = None if args.all_namespaces else _namespace_of(kind, args.namespace)
    if args.name:
        items = [rest.get(kind.resource, namespace, args.name)]
    else:
        listed = rest.list(kind.resource, namespace=namespace).items
        # A list's items carry no kind; kubectl names each one, as `get NAME` returns it.
        identity = {"apiVersion": kind.api_version, "kind": kind.kind}
        listed = [{**identity, **item} for item in listed]
        items = sorted(listed, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    if args.output == "json":
        document = items[0] if args.name else {"apiVersion": "v1", "kind": "List", "items": items,
                                               "metadata": {"resourceVersion": ""}}  # fmt: skip
        print(json.dumps(document, indent=4))
        return 0
    if not items:
        where = f" in {namespace} namespace" if namespace else ""
        print(f"No resources found{where}.", file=sys.stderr)
        return 0
    all_namespaces = args.all_namespaces and kind.namespaced
    print(render(kind, items, wide=args.output == "wide", all_namespaces=all_namespaces))
    return 0
