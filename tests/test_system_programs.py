"""The declared system programs (scripts/system-programs.txt): a run without one stops naming it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import declared_programs

ROOT = Path(__file__).parents[1]


def test_a_run_without_nc_stops_naming_it(tmp_path: Path):
    """PATH holds every program but nc: pytest stops before any test, naming nc and its package."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in declared_programs():
        if program.program != "nc" and not program.program.startswith("/"):
            (bin_dir / program.program).symlink_to(shutil.which(program.program) or "/nonexistent")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{bin_dir}"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_proto_generated.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 4, result.stdout + result.stderr
    assert "missing programs: nc (Debian package netcat-openbsd)" in result.stdout + result.stderr
    assert " passed" not in result.stdout


def test_a_program_declared_twice_is_refused_naming_both_lines(tmp_path: Path):
    declared = tmp_path / "system-programs.txt"
    declared.write_text("# program package who\nnft nftables agent\nip iproute2 agent\nnft nftables lab\n")
    with pytest.raises(ValueError, match=r"system-programs.txt:4: nft is already declared on line 2"):
        declared_programs(declared)
