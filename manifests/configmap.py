"""The ``pyantrea-config`` ConfigMap: both programs' configuration files and the CNI conflist.

The two configuration files are ``pyantrea_config.render``'s documented defaults of the very schemas the
programs load, so the manifest offers no key the programs do not know and no default they do not
have: every default suits a cluster. The conflist names the agent's CNI socket from the same schema and
leaves out ``mtu``, so that the agent's ``defaultMTU`` alone decides the pods' MTU.
"""

from __future__ import annotations

from typing import Any

from cni import install
from pyantrea_config.agent import AgentConfig
from pyantrea_config.render import PROGRAMS, render_yaml
from pyantrea_config.schema import leaves

NAME = "pyantrea-config"
NAMESPACE = "kube-system"
CONFLIST_KEY = "10-pyantrea.conflist"


def conflist() -> str:
    """The network configuration list install-cni writes to the node's /etc/cni/net.d."""
    return install.conflist(socket=str(leaves(AgentConfig)["cniSocket"].default))


def config_map() -> dict[str, Any]:
    """The ConfigMap object; its keys are the file names the pods see under /etc/pyantrea."""
    data = {title: render_yaml(schema, title=title) for title, schema in PROGRAMS.values()}
    data[CONFLIST_KEY] = conflist()
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"app": "pyantrea"}},
        "data": data,
    }
