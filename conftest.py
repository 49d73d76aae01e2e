"""The whole suite (tests/ and bench/) needs the programs of scripts/system-programs.txt.

Checked once at start-up: a missing program stops the run at once, naming the program and its
Debian package, instead of failing tests one by one with whatever error the missing tool causes.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

SYSTEM_PROGRAMS = Path(__file__).parent / "scripts" / "system-programs.txt"


@dataclass(frozen=True, slots=True)
class SystemProgram:
    program: str
    """A name looked up on PATH, or an absolute path."""
    package: str


def declared_programs(path: Path = SYSTEM_PROGRAMS) -> list[SystemProgram]:
    """The programs of `path` (lines `program package who`; `-` for a package that has none)."""
    programs: list[SystemProgram] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 2:
            raise ValueError(f"{path}:{number}: expected 'program package', got {line!r}")
        if fields[0] in seen:
            # one line per program, whoever needs it: two lines would drift apart
            raise ValueError(f"{path}:{number}: {fields[0]} is already declared on line {seen[fields[0]]}")
        if fields[0] != "-":
            seen[fields[0]] = number
            programs.append(SystemProgram(fields[0], fields[1]))
    return programs


def is_installed(program: SystemProgram) -> bool:
    if program.program.startswith("/"):
        return Path(program.program).is_file()
    return shutil.which(program.program) is not None


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [p for p in declared_programs() if not is_installed(p)]
    if missing:
        names = ", ".join(f"{p.program} (Debian package {p.package})" for p in missing)
        pytest.exit(f"missing programs: {names}; run ./scripts/setup.sh", returncode=4)
