"""The Lambda layer carries only what the functions import at run time: developer and test
tools (the CLI's rich, linters, type checkers, generators, mocks) stay out of it."""

from __future__ import annotations

import re
import tomllib

from holdfast_cli.local.template import PROJECT_ROOT

DEVELOPER_ONLY = {
    "rich",
    "ruff",
    "mypy",
    "pytest",
    "pytest-cov",
    "pre-commit",
    "openapi-python-client",
    "moto",
    "matplotlib",
    "schemathesis",
    "hypothesis",
}


def names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", line.strip(), maxsplit=1)[0].lower() for line in requirements}


def test_the_layer_requirements_have_no_developer_tools():
    text = (PROJECT_ROOT / "layers" / "holdfast" / "requirements.txt").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert names(lines) & DEVELOPER_ONLY == set()
    assert names(lines) >= {"aws-lambda-powertools", "pydantic", "boto3"}


def test_the_runtime_dependencies_have_no_developer_tools():
    with open(PROJECT_ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    assert names(project["dependencies"]) & DEVELOPER_ONLY == set()
    assert "rich" in names(project["optional-dependencies"]["cli"])
