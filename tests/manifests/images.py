"""The image's files as the tests use them: the scripts under build/images/scripts as modules, and
the paths of the Dockerfile, the CNI bundle's build script and its requirements."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

IMAGES = Path(__file__).parents[2] / "build" / "images"
SCRIPTS = IMAGES / "scripts"
DOCKERFILE = IMAGES / "Dockerfile"
BUNDLE_SCRIPT = IMAGES / "cni" / "bundle.sh"
BUNDLE_REQUIREMENTS = IMAGES / "cni" / "requirements.txt"
START_OVS = SCRIPTS / "start_ovs.py"


def load_script(path: Path) -> ModuleType:
    """A script file as a module (they are not in a package: the image runs them as programs)."""
    spec = importlib.util.spec_from_file_location(f"image_script_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
