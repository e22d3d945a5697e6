"""Fixtures of the developer-command tests."""

from __future__ import annotations

import pytest

from holdfast_cli.local.stream_mappings import StreamMapping, stream_mappings


@pytest.fixture(scope="module")
def expiry_mapping() -> StreamMapping:
    (mapping,) = [m for m in stream_mappings() if m.function == "HoldExpiryFunction"]
    return mapping
