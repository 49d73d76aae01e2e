"""Benchmarks share the test suite's fixtures (real OVS in a private namespace), from
`pyantrea_testing`.

gRPC's C core logs every GOAWAY at info level when 100 simulated agents disconnect; the
benchmarks (and the processes they start) keep only its errors.
"""

import os

import pytest

from bench.targets import Figures
from pyantrea_testing.ovs import module_ovs, namespace, ovs  # noqa: F401

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")


@pytest.fixture
def figures(benchmark) -> Figures:
    """The benchmark's figures and targets (`bench.targets`)."""
    return Figures(benchmark)
