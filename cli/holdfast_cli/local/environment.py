"""The environment a deployed Holdfast function runs in, given to this process instead.

The handlers read their settings from ``os.environ`` (``Settings.from_environment``) and build
their runtime lazily, so "deploying" on this machine means setting these variables and
forgetting the runtime. ``holdfast dev``, the flash sale, the simulated day, the bench and the
test suite all take them from :func:`lambda_environment`; :class:`EnvironmentPatch` sets them
and puts back what was there before.

Nothing here imports the service: ``tests/conftest.py`` applies the environment before any
handler or Powertools module is imported.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Self

from holdfast_cli.local.aws_credentials import local_defaults
from holdfast_cli.local.template import global_environment

FUNCTION_SETTINGS: Mapping[str, str] = {
    **global_environment(),
    # botocore would otherwise look for an account id in the (dummy) credentials.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
"""What the template's Globals give every function (POWERTOOLS_SERVICE_NAME,
POWERTOOLS_METRICS_NAMESPACE), plus what boto3 needs off AWS."""

QUIET: Mapping[str, str] = {
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
"""For tools that drive thousands of requests and print their own summary."""


def lambda_environment(
    table: str | None,
    endpoint_url: str | None,
    *,
    moto: bool = False,
    extra: Mapping[str, str | None] | None = None,
) -> dict[str, str | None]:
    """The variables for handlers using ``table`` on the engine at ``endpoint_url``.

    ``None`` means "unset": on moto there is no endpoint, and a stale one left in the
    environment must not let a client bypass the mock. Dummy credentials and a region stand in
    for missing ones (a configured profile still wins). On moto the feed applies one position
    at a time, because moto's TransactWriteItems is not thread-safe. ``extra`` comes last.
    """
    values: dict[str, str | None] = {
        "DYNAMODB_ENDPOINT_URL": endpoint_url,
        **FUNCTION_SETTINGS,
        **local_defaults(),
    }
    if table is not None:
        values["TABLE_NAME"] = table
    if moto:
        values["FEED_CONCURRENCY"] = "1"
    values |= extra or {}
    return values


def set_environment(values: Mapping[str, str | None]) -> None:
    """Set each variable, or unset it where the value is ``None``."""
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class EnvironmentPatch:
    """Variables set in ``os.environ`` until :meth:`restore`; the service's runtime is
    rebuilt after each change so the handlers see them."""

    def __init__(self, values: Mapping[str, str | None] | None = None) -> None:
        self._saved: dict[str, str | None] = {}
        if values:
            self.update(values)

    def update(self, values: Mapping[str, str | None]) -> None:
        from holdfast.runtime import reset_runtime

        for name in values:
            self._saved.setdefault(name, os.environ.get(name))
        set_environment(values)
        reset_runtime()

    def restore(self) -> None:
        from holdfast.runtime import reset_runtime

        set_environment(self._saved)
        self._saved.clear()
        reset_runtime()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()
