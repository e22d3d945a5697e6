"""The layer deploys exactly the versions the tests ran: layers/holdfast/requirements.txt is
uv.lock's runtime dependencies (``make layer-requirements``), nothing more and nothing less."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib

import pytest

from holdfast_cli.local.template import PROJECT_ROOT

REQUIREMENTS = PROJECT_ROOT / "layers/holdfast/requirements.txt"
LOCK = PROJECT_ROOT / "uv.lock"
LEFT_OUT = {"pyyaml"}
"""Runtime dependencies of the project that only the CLI uses."""


def pinned(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            found = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)(\s*;.*)?", line)
            assert found, f"not an exact pin: {line!r}"
            pins[found[1].lower()] = found[2]
    return pins


def locked() -> tuple[dict[str, str], set[str]]:
    """Every locked package's version, and the project's own runtime dependencies."""
    lock = tomllib.loads(LOCK.read_text(encoding="utf-8"))
    versions = {package["name"]: package.get("version", "") for package in lock["package"]}
    (project,) = [package for package in lock["package"] if package["name"] == "holdfast"]
    return versions, {dependency["name"] for dependency in project["dependencies"]}


def uv_command() -> list[str]:
    if os.environ.get("UV"):  # set by `uv run`
        return [os.environ["UV"]]
    if shutil.which("uv"):
        return ["uv"]
    pytest.skip("uv is not installed")
    return []


def test_every_layer_pin_is_the_locked_version() -> None:
    versions, _ = locked()
    for name, version in pinned(REQUIREMENTS.read_text(encoding="utf-8")).items():
        assert versions.get(name) == version, (
            f"{name}=={version} but uv.lock has {versions.get(name)}"
        )


def test_the_layer_carries_every_runtime_dependency_of_the_project_but_the_cli_only_ones() -> None:
    _, direct = locked()
    assert set(pinned(REQUIREMENTS.read_text(encoding="utf-8"))) >= direct - LEFT_OUT
    assert not LEFT_OUT & set(pinned(REQUIREMENTS.read_text(encoding="utf-8")))


def test_the_layer_requirements_are_what_uv_exports_from_the_lock() -> None:
    exported = subprocess.run(
        [
            *uv_command(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-header",
            "--no-annotate",
            "--no-emit-project",
            *(f"--no-emit-package={name}" for name in sorted(LEFT_OUT)),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1"},
    ).stdout
    assert pinned(REQUIREMENTS.read_text(encoding="utf-8")) == pinned(exported), (
        "layers/holdfast/requirements.txt is stale: run `make layer-requirements`"
    )


def test_the_pin_reader_refuses_a_range() -> None:
    with pytest.raises(AssertionError):
        pinned("boto3>=1.35\n")
    assert pinned("# c\nboto3==1.44.8 ; python_version >= '3.11'\n") == {"boto3": "1.44.8"}
