"""Where `pyantctl get` and `pyantctl trace` find the running lab's controller when no server is
given: on the lab's first node, at the HTTP port the lab gives it; the agents' tokens come from
the lab's admin kubeconfig. The lab's addresses exist only
inside its network namespaces, so pyantctl first moves into the lab's underlay namespace, as
`pyantctl lab` commands do.
"""

from __future__ import annotations

from lab import netns
from lab.layout import LabLayout
from lab.session import LabSession, NoLab
from lab.up import CONTROLLER_HTTP_PORT
from pyantctl.client import Target
from pyantctl.errors import CliError


def lab_controller() -> Target:
    """The controller of the lab of $PYANTREA_LAB_DIR, after moving into its underlay namespace,
    with the lab's admin kubeconfig (for the agents' tokens)."""
    layout = LabLayout.from_environment()
    try:
        record = LabSession(layout).record
    except NoLab as error:
        raise CliError(str(error)) from error
    if not netns.exists(record.underlay):
        raise CliError(
            f"the lab's underlay namespace {record.underlay} is gone; clean up with `pyantctl lab down`"
        )
    netns.enter(record.underlay)
    url = f"http://{record.nodes[0].address.split('/')[0]}:{CONTROLLER_HTTP_PORT}"
    return Target(url, layout.kubeconfig)
