"""The image recipe (build/images/Dockerfile) fits the repository and the manifest: what it copies
exists, its CNI bundle pins are the project's, it puts the programs and scripts where the
manifest's commands expect them. Building the image needs a container engine: the build test
runs where `docker info` or `podman info` succeeds and is skipped, saying why, elsewhere."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from cni import install as install_cni
from tests.manifests.images import BUNDLE_REQUIREMENTS, DOCKERFILE

REPO = Path(__file__).parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def instructions() -> list[tuple[str, list[str]]]:
    """The Dockerfile's instructions with their words, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    result = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            words = shlex.split(line, comments=False)
            result.append((words[0].upper(), words[1:]))
    return result


def copies(*, from_stage: bool) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY, from the context or (`from_stage`) from a stage."""
    result = []
    for instruction, words in instructions():
        if instruction != "COPY":
            continue
        flags = [w for w in words if w.startswith("--")]
        if any(f.startswith("--from=") for f in flags) == from_stage:
            paths = [w for w in words if not w.startswith("--")]
            result.append((paths[:-1], paths[-1]))
    return result


def pins(requirements: list[str]) -> dict[str, str]:
    return dict(line.split("==", 1) for line in requirements if "==" in line)


def test_everything_the_recipe_copies_from_the_context_exists():
    sources = [source for sources, _ in copies(from_stage=False) for source in sources]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which does not exist"


def test_the_cni_bundle_pins_are_the_projects():
    bundle = pins(
        [line.strip() for line in BUNDLE_REQUIREMENTS.read_text().splitlines() if not line.startswith("#")]
    )
    project = pins(PROJECT["dependencies"]) | pins(PROJECT["optional-dependencies"]["test"])
    assert bundle
    for name, version in bundle.items():
        assert project.get(name) == version, f"{name}=={version} in {BUNDLE_REQUIREMENTS.name}"


def test_the_image_has_what_the_manifest_runs():
    destinations = {destination for _, destination in copies(from_stage=False) + copies(from_stage=True)}
    # start-ovs: the ovs container's command.
    assert "/usr/local/bin/start-ovs" in destinations
    # The bundle where install-cni looks for it.
    assert str(install_cni.DEFAULT_BUNDLE) in destinations
    # install-cni, pyantrea-agent and pyantrea-controller: the init container's and the other
    # containers' commands, console scripts of the virtual environment on PATH.
    env = [words for instruction, words in instructions() if instruction == "ENV"]
    assert ["PATH=/opt/pyantrea/bin:$PATH"] in env
    assert {"install-cni", "pyantrea-agent", "pyantrea-controller"} <= set(PROJECT["scripts"])


def usable_engine() -> tuple[str | None, str]:
    """The first container engine whose `info` works, or None and why there is none."""
    reasons = []
    for engine in ("docker", "podman"):
        if shutil.which(engine) is None:
            reasons.append(f"no {engine} client")
            continue
        done = subprocess.run([engine, "info"], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode == 0:
            return engine, ""
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        reasons.append(f"`{engine} info` failed: {last[0]}")
    return None, "no usable container engine to build the image: " + "; ".join(reasons)


@pytest.mark.slow
def test_the_image_builds_and_runs_its_programs():
    engine, reason = usable_engine()
    if engine is None:
        pytest.skip(reason)
    tag = "pyantrea:tests-manifests"
    build = [engine, "build", "-f", str(DOCKERFILE), "-t", tag, str(REPO)]
    done = subprocess.run(build, capture_output=True, text=True, timeout=3600, check=False)
    assert done.returncode == 0, done.stderr[-5000:]
    try:

        def run(*argv: str, env: tuple[str, ...] = ()) -> str:
            flags = [word for item in env for word in ("-e", item)]
            result = subprocess.run(
                [engine, "run", "--rm", *flags, tag, *argv],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert result.returncode == 0, result.stderr[-3000:]
            return result.stdout

        assert "pyantrea-agent" in run("pyantrea-agent", "--help")
        assert "pyantrea-controller" in run("pyantrea-controller", "--help")
        assert "supportedVersions" in run(
            "/usr/local/lib/pyantrea-cni/pyantrea", env=("CNI_COMMAND=VERSION",)
        )
        assert "Open vSwitch" in run("ovs-vswitchd", "--version")
        run("test", "-x", "/usr/lib/cni/host-local")
        run("python3", "-c", "import fastpath._diff")
    finally:
        subprocess.run([engine, "rmi", "-f", tag], capture_output=True, timeout=300, check=False)
