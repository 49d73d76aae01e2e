"""The OVS instance launcher that tests and the lab build on."""

import pytest

from lab.ovs import OvsError

pytestmark = pytest.mark.ovs


def test_bridge_is_created_and_listed(ovs):
    ovs.add_bridge("br-test")
    assert "br-test" in ovs.vsctl("list-br").split()
    assert "OFPT_FEATURES_REPLY" in ovs.ofctl("show", "br-test")


def test_stop_is_idempotent_and_kills_daemons(ovs):
    pid = ovs.pid("ovs-vswitchd")
    assert pid is not None
    ovs.stop()
    ovs.stop()
    assert ovs.pid("ovs-vswitchd") is None
    with pytest.raises(OvsError):
        ovs.vsctl("list-br")
