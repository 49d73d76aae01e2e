"""Regenerate the Python code of every `.proto` file under `proto/`.

The generated modules (`*_pb2.py`, `*_pb2.pyi`, `*_pb2_grpc.py`) are committed next to their
`.proto`; `tests/test_proto_generated.py` fails when they are stale. Run after editing a
`.proto`:

    .venv/bin/python -m proto.generate

Imports are rooted at the repository (`-I.`), so `proto/cni/v1beta1/cni.proto` becomes
`proto.cni.v1beta1.cni_pb2`; the well-known types (`google/protobuf/*.proto`) come from
grpcio-tools.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = REPO_ROOT / "proto"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


class GenerateError(RuntimeError):
    """protoc refused a `.proto` file; its diagnostics went to stderr."""


def proto_files() -> list[Path]:
    """Every `.proto` under `proto/`, relative to the repository root, in a stable order."""
    return sorted(path.relative_to(REPO_ROOT) for path in PROTO_DIR.rglob("*.proto"))


def generated_files(root: Path) -> list[Path]:
    """The generated modules under `root/proto`, relative to `root`."""
    return sorted(
        path.relative_to(root)
        for path in (root / "proto").rglob("*")
        if path.name.endswith(GENERATED_SUFFIXES)
    )


def generate(out_dir: Path = REPO_ROOT) -> list[Path]:
    """Compile every `.proto` into `out_dir` (the repository itself by default); returns the outputs."""
    well_known = resources.files("grpc_tools") / "_proto"
    for source in proto_files():
        argv = [
            "grpc_tools.protoc",
            f"-I{REPO_ROOT}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--pyi_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            str(REPO_ROOT / source),
        ]
        if protoc.main(argv) != 0:
            raise GenerateError(f"protoc failed on {source}")
    return generated_files(out_dir)


def main() -> int:
    for path in generate():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
