"""Hypothesis strategies for what a runtime (or anything else) may hand the plugin: CNI
environments and network configurations, from plausible to garbage."""

from __future__ import annotations

import json

from hypothesis import strategies as st

VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]

# what an environment variable can hold: no NUL, no lone surrogates
env_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Either `strategy` or any JSON value (a field of the wrong type)."""
    return st.one_of(strategy, json_values)


def environments(socket_free: bool = True) -> st.SearchStrategy[dict[str, str]]:
    names = st.sampled_from(["default", "kube-system", "Bad_Name", ""])
    pods = st.sampled_from(["web", "db-0", "x" * 80, "Web", ""])
    args = st.one_of(
        st.builds(lambda ns, pod: f"IgnoreUnknown=1;K8S_POD_NAMESPACE={ns};K8S_POD_NAME={pod}", names, pods),
        env_text,
    )
    return st.fixed_dictionaries(
        {},
        optional={
            "CNI_COMMAND": st.one_of(st.sampled_from(["ADD", "DEL", "CHECK", "VERSION", "GC"]), env_text),
            "CNI_CONTAINERID": st.one_of(st.sampled_from(["c1", "abc-123_x.y"]), env_text),
            "CNI_NETNS": st.one_of(st.sampled_from(["/var/run/netns/none", "relative"]), env_text),
            "CNI_IFNAME": st.one_of(st.sampled_from(["eth0", "net1", "a" * 16, "a/b", "."]), env_text),
            "CNI_ARGS": args,
            "CNI_PATH": st.one_of(st.just("/usr/lib/cni"), env_text),
        },
    )


def service_fields() -> st.SearchStrategy[dict[str, str]]:
    """`CniCmdArgs` string fields as anything may send them over gRPC: NULs and any Unicode too."""
    plausible = environments()
    return st.builds(
        lambda environ, raw: {
            field: environ.get(variable, raw.get(field, ""))
            for field, variable in (
                ("container_id", "CNI_CONTAINERID"),
                ("netns", "CNI_NETNS"),
                ("ifname", "CNI_IFNAME"),
                ("args", "CNI_ARGS"),
                ("path", "CNI_PATH"),
            )
        },
        plausible,
        st.dictionaries(
            st.sampled_from(["container_id", "netns", "ifname", "args", "path"]),
            st.text(max_size=20),
            max_size=5,
        ),
    )


def results() -> st.SearchStrategy[object]:
    interface = st.fixed_dictionaries(
        {},
        optional={
            "name": maybe(st.just("eth0")),
            "mac": maybe(st.just("aa:bb:cc:dd:ee:ff")),
            "sandbox": json_values,
        },
    )
    ip = st.fixed_dictionaries(
        {},
        optional={
            "address": maybe(st.sampled_from(["10.0.0.2/24", "fd00::2/64", "10.0.0.2", "x"])),
            "gateway": maybe(st.sampled_from(["10.0.0.1", "nope"])),
            "interface": maybe(st.integers(-1, 3)),
            "version": maybe(st.sampled_from(["4", "6"])),
        },
    )
    route = st.fixed_dictionaries(
        {}, optional={"dst": maybe(st.just("0.0.0.0/0")), "gw": maybe(st.just("10.0.0.1"))}
    )
    return maybe(
        st.fixed_dictionaries(
            {},
            optional={
                "cniVersion": maybe(st.sampled_from(VERSIONS)),
                "interfaces": maybe(st.lists(maybe(interface), max_size=3)),
                "ips": maybe(st.lists(maybe(ip), max_size=3)),
                "routes": maybe(st.lists(maybe(route), max_size=2)),
                "dns": maybe(
                    st.fixed_dictionaries({}, optional={"nameservers": maybe(st.lists(st.text(max_size=5)))})
                ),
            },
        )
    )


def configs(socket: str) -> st.SearchStrategy[bytes]:
    """Configuration bytes; `socket` is the only absolute cniSocket generated (a path nobody serves)."""
    document = st.fixed_dictionaries(
        {},
        optional={
            "cniVersion": maybe(st.sampled_from([*VERSIONS, "0.2.0", "9.9.9", ""])),
            "name": maybe(st.sampled_from(["pyantrea", "my net", ""])),
            "type": maybe(st.just("pyantrea")),
            "cniSocket": st.one_of(
                st.just(socket), st.text(max_size=10).map(lambda t: "rel" + t), json_values
            ),
            "mtu": maybe(st.integers(0, 70000)),
            "ipam": maybe(
                st.fixed_dictionaries({}, optional={"type": maybe(st.sampled_from(["host-local", "dhcp"]))})
            ),
            "dns": maybe(
                st.fixed_dictionaries({}, optional={"search": maybe(st.lists(st.text(max_size=5)))})
            ),
            "prevResult": results(),
        },
    )
    return st.one_of(
        document.map(lambda value: json.dumps(value).encode()),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=64),
    )
