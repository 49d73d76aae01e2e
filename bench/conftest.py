"""Benchmarks share the test suite's fixtures (real OVS in a private namespace)."""

from tests.conftest import module_ovs, namespace, ovs  # noqa: F401
