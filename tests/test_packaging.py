"""Packaging: the renamed packages import under their install names, and none is left out."""

from __future__ import annotations

import importlib
import operator as stdlib_operator
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def test_stdlib_operator_is_untouched() -> None:
    assert hasattr(stdlib_operator, "itemgetter")
    assert importlib.import_module("krr_operator").__file__.endswith("operator/__init__.py")


def test_every_package_folder_is_listed() -> None:
    """A package folder that pyproject.toml does not list would be missing from the wheel."""
    listed = set(SETUPTOOLS["packages"])
    for import_name, folder in SETUPTOOLS["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base).parts
            name = ".".join((import_name, *relative))
            assert name in listed, f"{name} ({init.parent}) is not in [tool.setuptools].packages"


def test_every_listed_package_imports() -> None:
    for name in SETUPTOOLS["packages"]:
        importlib.import_module(name)
