"""The pyantrea node agent: OVS bridge, OpenFlow pipeline, pod networking, policy realization."""
