"""What the agent reads from CNI_ARGS beyond the pod's namespace and name."""

import pytest

from cni.invocation import validate

UID = "0b6e1c52-3f1e-4d7a-9d5e-0c8f2a1b7e44"


def call(args: str):
    return validate(command="DEL", container_id="c1", netns="", ifname="eth0", args=args, path="")


@pytest.mark.parametrize(
    ("args", "uid"),
    [
        (f"K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web;K8S_POD_UID={UID}", UID),
        ("K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web", ""),
        ("K8S_POD_UID=not-a-uid", ""),
        (f"K8S_POD_UID={UID}x", ""),
    ],
)
def test_the_pod_uid_is_taken_only_when_it_is_a_uid(args, uid):
    assert call(args).pod_uid() == uid
