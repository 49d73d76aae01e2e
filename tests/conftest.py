"""Fixtures shared by the whole suite (real network namespaces and Open vSwitch instances): those
of `pyantrea_testing.ovs`, which the benchmarks share."""

from pyantrea_testing.ovs import module_ovs, namespace, ovs  # noqa: F401
