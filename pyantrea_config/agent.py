"""The schema of ``pyantrea-agent.conf``, the node agent's configuration file.

Keys follow Antrea's ``antrea-agent.conf``. Load it with ``pyantrea_config.loader`` or
``pyantrea_config.flags.config_from_args(AgentConfig, args)``; render its documented defaults with
``python -m config.render agent``.
"""

# setting() and section() are dataclasses.field() with metadata, which RUF009 cannot know.
# ruff: noqa: RUF009

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from pyantrea_config.errors import ConfigError
from pyantrea_config.kinds import CIDRList, HostPort, InterfaceName, IPAddress, IPNetwork, ObjectName
from pyantrea_config.schema import section, setting

_PORTS = (0, 65535)


class OvsDatapathType(enum.StrEnum):
    SYSTEM = "system"
    NETDEV = "netdev"


class TrafficEncapMode(enum.StrEnum):
    ENCAP = "encap"
    NO_ENCAP = "noEncap"
    HYBRID = "hybrid"
    NETWORK_POLICY_ONLY = "networkPolicyOnly"


class TunnelType(enum.StrEnum):
    VXLAN = "vxlan"
    GENEVE = "geneve"
    GRE = "gre"
    STT = "stt"


class FlowExportProtocol(enum.StrEnum):
    IPFIX = "ipfix"
    NETFLOW = "netflow"
    SFLOW = "sflow"


@dataclass(frozen=True, slots=True, kw_only=True)
class AntreaProxyConfig:
    """Services implemented by the agent in Open vSwitch (AntreaProxy)."""

    enable: bool = setting(
        "enable",
        True,
        doc="Implement ClusterIP, NodePort and LoadBalancer Services in OVS from the Services and "
        "EndpointSlices the agent watches. false: table 40 sends Service CIDR traffic to the gateway for "
        "kube-proxy, as in the introduction article.",
    )
    node_port_addresses: CIDRList = setting(
        "nodePortAddresses",
        CIDRList(()),
        doc="Node addresses that serve NodePort Services, as CIDRs. Empty: the Node's InternalIP.",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowExportConfig:
    """Open vSwitch's own flow export on the integration bridge."""

    enable: bool = setting(
        "enable",
        False,
        doc="Make Open vSwitch export flow records from the integration bridge to a collector.",
    )
    protocol: FlowExportProtocol = setting(
        "protocol",
        FlowExportProtocol.IPFIX,
        doc="Export protocol Open vSwitch speaks to the collector.",
    )
    collector_address: HostPort | None = setting(
        "collectorAddress",
        None,
        doc="Collector as host:port (UDP for ipfix, netflow and sflow). Required when enable is true.",
    )
    sampling: int = setting(
        "sampling",
        400,
        doc="Sample one packet in this many for ipfix and sflow (netflow reports every flow).",
        bounds=(1, 2**32 - 1),
    )

    def __post_init__(self) -> None:
        if self.enable and self.collector_address is None:
            raise ConfigError("collectorAddress", "required when enable is true")


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    """Everything ``pyantrea-agent`` reads from its configuration file."""

    node_name: ObjectName = setting(
        "nodeName",
        doc="Name of the Kubernetes Node this agent runs on; the DaemonSet sets NODE_NAME from the "
        "downward API.",
        env="NODE_NAME",
    )
    kubeconfig: Path | None = setting(
        "kubeconfig",
        None,
        doc="kubeconfig file for the Kubernetes API. Unset: the in-cluster ServiceAccount configuration.",
    )
    ovs_bridge: InterfaceName = setting(
        "ovsBridge",
        InterfaceName("br-int"),
        doc="Name of the OVS integration bridge the agent creates or adopts.",
    )
    ovs_datapath_type: OvsDatapathType = setting(
        "ovsDatapathType",
        OvsDatapathType.SYSTEM,
        doc="OVS datapath of the bridge: system is the kernel module on a real node; netdev is the "
        "userspace datapath, which sends tunnel traffic through an uplink bridge (transportInterface).",
    )
    ovs_run_dir: Path = setting(
        "ovsRunDir",
        Path("/var/run/openvswitch"),
        doc="Directory holding the db.sock of ovsdb-server and the bridges' .mgmt sockets of ovs-vswitchd.",
    )
    host_gateway: InterfaceName = setting(
        "hostGateway",
        InterfaceName("gw0"),
        doc="Name of the internal OVS port that holds the first address of the node's pod subnet and "
        "connects pods to the host.",
    )
    traffic_encap_mode: TrafficEncapMode = setting(
        "trafficEncapMode",
        TrafficEncapMode.ENCAP,
        doc="How traffic between pods on different nodes travels: encap sends it through tunnels.",
        supported=(TrafficEncapMode.ENCAP,),
    )
    tunnel_type: TunnelType = setting(
        "tunnelType",
        TunnelType.VXLAN,
        doc="Encapsulation of the tunnel port tun0. stt needs the system datapath.",
    )
    default_mtu: int = setting(
        "defaultMTU",
        1450,
        doc="MTU of pod interfaces and the gateway; leave room for the tunnel header (50 bytes for vxlan).",
        bounds=(576, 9216),
    )
    service_cidr: IPNetwork = setting(
        "serviceCIDR",
        ipaddress.ip_network("10.96.0.0/12"),
        doc="ClusterIP range of Services (the kube-apiserver's --service-cluster-ip-range); with "
        "antreaProxy disabled, traffic to it goes to the host for kube-proxy.",
    )
    antrea_proxy: AntreaProxyConfig = section(
        "antreaProxy",
        AntreaProxyConfig,
        doc="AntreaProxy: Services load-balanced in Open vSwitch by the agent.",
    )
    transport_interface: InterfaceName | None = setting(
        "transportInterface",
        None,
        doc="Node interface that carries tunnel traffic. With the netdev datapath the agent attaches it to "
        "an uplink bridge and moves the node address there. Unset: the interface holding the Node's "
        "InternalIP.",
    )
    controller_address: HostPort | None = setting(
        "controllerAddress",
        None,
        doc="host:port of the controller's gRPC API. Unset: the pyantrea Service in kube-system.",
    )
    controller_ca_file: Path = setting(
        "controllerCAFile",
        Path("/var/run/pyantrea/controller-ca/ca.crt"),
        doc="PEM CA certificate that signs the controller's serving certificate (the controller publishes "
        "it: caConfigMap or caPublishFile).",
    )
    controller_token_file: Path = setting(
        "controllerTokenFile",
        Path("/var/run/secrets/kubernetes.io/serviceaccount/token"),
        doc="File holding the bearer token sent to the controller: the agent's ServiceAccount token, or "
        "the controller's authTokenFile where no cluster checks tokens.",
    )
    cni_socket: Path = setting(
        "cniSocket",
        Path("/var/run/pyantrea/cni.sock"),
        doc="Unix socket of the agent's CNI service, which the pyantrea CNI plugin calls.",
    )
    cni_state_dir: Path = setting(
        "cniStateDir",
        Path("/var/run/pyantrea/cni"),
        doc="Directory where the CNI service records the pods it set up, to clean up after a restart.",
    )
    policy_state_dir: Path = setting(
        "policyStateDir",
        Path("/var/run/pyantrea/policies"),
        doc="Directory where received policies and groups are saved, so a restarted agent enforces them "
        "while the controller is unreachable.",
    )
    api_port: int = setting(
        "apiPort",
        10350,
        doc="HTTP port of the agent: /livez, /readyz, /metrics and the local JSON API. 0 picks a free port.",
        bounds=_PORTS,
    )
    api_bind_address: IPAddress = setting(
        "apiBindAddress",
        ipaddress.ip_address("0.0.0.0"),
        doc="Address the agent's HTTP server listens on.",
    )
    enable_prometheus_metrics: bool = setting(
        "enablePrometheusMetrics",
        True,
        doc="Serve Prometheus metrics on /metrics.",
    )
    flow_export: FlowExportConfig = section(
        "flowExport",
        FlowExportConfig,
        doc="Flow export by Open vSwitch (IPFIX, NetFlow or sFlow) from the integration bridge.",
    )

    def __post_init__(self) -> None:
        if self.tunnel_type is TunnelType.STT and self.ovs_datapath_type is OvsDatapathType.NETDEV:
            raise ConfigError("tunnelType", "stt needs ovsDatapathType system; netdev has no STT")
