"""Fixtures of the observability tests: one 2-node lab shared by the package, and where
screenshots go.

The lab's tests each work in namespaces of their own. `pyantctl` commands run with the lab's
environment (`PYANTREA_LAB_DIR`, `PYANTREA_LAB_PREFIX`), so `get` and `trace` find its
controller the way a user's shell would.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.lab import COMMAND_TIMEOUT, PYANTCTL, CommandFailed, Lab, new_lab

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "observe"


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A 2-node VXLAN lab shared by the package's lab tests."""
    started = new_lab(tmp_path_factory)
    try:
        yield started.up(2, "vxlan")
    finally:
        started.destroy()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pyantctl(lab: Lab, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`pyantctl ARGS...` in the lab's environment; with `check`, a failure fails the test."""
    done = subprocess.run(
        [str(PYANTCTL), *args], env=lab.environ, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
        check=False,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise CommandFailed(
            f"pyantctl {' '.join(args)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
        )
    return done


def pyantctl_json(lab: Lab, *args: str) -> Any:
    return json.loads(pyantctl(lab, *args, "-o", "json").stdout)
