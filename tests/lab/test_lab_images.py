"""The lab kubelet's image map and a pod's resolv.conf: pure decisions, checked directly."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.kubelet.dns import ClusterDns, resolv_conf
from lab.kubelet.images import (
    DEFAULT_MAP,
    REPO,
    ImageMapError,
    RenderContext,
    find,
    load_maps,
    parse_map,
    render,
    repository,
)
from lab.kubelet.pods import trim_pod


def _context(tmp_path: Path, volumes: dict[str, Path] | None = None) -> RenderContext:
    return RenderContext(pod="kube-system/coredns-1", directory=tmp_path / "work", python="/venv/bin/python",
                         programs=lambda name: f"/cache/{name}", volumes=volumes or {})  # fmt: skip


def _container(**spec: object) -> dict[str, object]:
    return {"name": "c", "image": "registry.k8s.io/coredns/coredns:v1.15.0", **spec}


def _pod(*containers: dict[str, object], **spec: object) -> dict[str, object]:
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u"},
        "spec": {"containers": list(containers), **spec},
    }


@pytest.mark.parametrize(
    ("image", "repo"),
    [("redis", "redis"), ("redis:7", "redis"),
     ("registry.k8s.io/coredns/coredns:v1.15.0", "registry.k8s.io/coredns/coredns"),
     ("localhost:5000/redis", "localhost:5000/redis"),
     ("localhost:5000/redis:7@sha256:ab", "localhost:5000/redis")],
)  # fmt: skip
def test_the_repository_of_an_image_drops_tag_and_digest_not_a_registry_port(image: str, repo: str):
    assert repository(image) == repo


def test_the_lab_map_runs_coredns_redis_and_the_guestbook_and_nothing_else(tmp_path: Path):
    programs = load_maps([DEFAULT_MAP])
    coredns = find(programs, "registry.k8s.io/coredns/coredns:v1.15.0")
    assert coredns is not None and coredns.service_account_token
    assert find(programs, "k8s.gcr.io/redis:e2e") is not None
    assert find(programs, "gcr.io/google_samples/gb-redisslave:v3") is not None
    assert find(programs, "gcr.io/google-samples/gb-frontend:v4") is not None
    assert find(programs, "nginx:1.27") is None
    assert find(programs, "example/web") is None


def test_args_under_a_volume_mount_find_the_kubelets_copy_of_the_volume(tmp_path: Path):
    program = find(load_maps([DEFAULT_MAP]), "registry.k8s.io/coredns/coredns:v1.15.0")
    assert program is not None
    pod = trim_pod(_pod(_container(args=["-conf", "/etc/coredns/Corefile", "--x=/etc/coredns/a"],
                                   volumeMounts=[{"name": "config-volume", "mountPath": "/etc/coredns"}]),
                        volumes=[{"name": "config-volume", "configMap": {"name": "coredns"}}]))  # fmt: skip
    assert pod.config_maps == (("config-volume", "coredns"),)
    copy = tmp_path / "volumes" / "config-volume"
    argv = render(program, pod.containers[0], _context(tmp_path, {"config-volume": copy}))
    assert argv == ["/cache/coredns", "-conf", f"{copy}/Corefile", f"--x={copy}/a"]


def test_placeholders_take_the_containers_port_env_and_the_pods_names(tmp_path: Path):
    (entry,) = parse_map(
        "images:\n- image: '*/app'\n  command: ['{python}', '{repo}/app.py', '--port={port}', '{env:MODE}',"
        " '{pod}', '{namespace}', '{name}', '{dir}', '{command}', '{args}']\n",
        "map.yaml",
    )
    pod = trim_pod(_pod({"name": "c", "image": "example.org/app:1", "ports": [{"containerPort": 8080}],
                         "env": [{"name": "MODE", "value": "fast"}, {"name": "X", "valueFrom": {}}],
                         "command": ["run"], "args": ["a", "b"]}))  # fmt: skip
    assert find([entry], "example.org/app:1") is entry
    argv = render(entry, pod.containers[0], _context(tmp_path))
    assert argv == ["/venv/bin/python", f"{REPO}/app.py", "--port=8080", "fast", "kube-system/coredns-1",
                    "kube-system", "coredns-1", str(tmp_path / "work"), "run", "a", "b"]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "error"),
    [("images: 3", "a list `images`"), ("[1]", "a list `images`"), ("images: [{command: [x]}]", "`image`"),
     ("images: [{image: x}]", "`command`"), ("images: [{image: x, command: [], other: 1}]", "unknown key"),
     ("images: [{image: x, command: ['{nope}']}]", "unknown placeholder {nope}"),
     ("images: [{image: x, command: ['a{args}']}]", "must be an item of its own"),
     ("images: [{image: x, command: ['{env}']}]", "unknown placeholder {env}"),
     ("images: [{image: x, command: [y], serviceAccountToken: 1}]", "true or false"),
     ("images: [", "not YAML")],
)  # fmt: skip
def test_a_bad_map_is_refused_naming_the_file_the_entry_and_the_problem(text: str, error: str):
    with pytest.raises(ImageMapError, match=r"map\.yaml") as raised:
        parse_map(text, "map.yaml")
    assert error in str(raised.value)


def test_a_missing_map_file_is_named(tmp_path: Path):
    with pytest.raises(ImageMapError, match=r"cannot read the image map .*nothing\.yaml"):
        load_maps([tmp_path / "nothing.yaml"])


def test_a_pods_resolv_conf_names_the_cluster_dns_and_the_namespaces_search_path():
    assert resolv_conf(ClusterDns("10.96.0.10"), "development") == (
        "search development.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 10.96.0.10\noptions ndots:5\n"
    )
    assert trim_pod(_pod(_container(), dnsPolicy="Default")).dns_policy == "Default"
    assert trim_pod(_pod(_container())).dns_policy == "ClusterFirst"
