"""Builds pyantrea's Cython extensions; all other metadata lives in pyproject.toml."""

from pathlib import Path

from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = Path(__file__).parent
# Every .pyx under these packages becomes an extension module of the same dotted name.
CYTHON_PACKAGES = ("fastpath", "controlplane", "agent")


def _extensions() -> list[Extension]:
    extensions = []
    for package in CYTHON_PACKAGES:
        for source in sorted((HERE / package).rglob("*.pyx")):
            relative = source.relative_to(HERE).with_suffix("")
            extensions.append(
                Extension(
                    ".".join(relative.parts),
                    [str(source.relative_to(HERE))],
                    extra_compile_args=["-O3"],
                )
            )
    return extensions


setup(
    ext_modules=cythonize(
        _extensions(),
        language_level=3,
        compiler_directives={"cdivision": True},
    ),
)
