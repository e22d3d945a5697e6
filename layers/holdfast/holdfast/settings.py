"""Environment configuration, read once at cold start into a validated model."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Every environment variable a Holdfast function reads. A missing ``TABLE_NAME`` fails the
    cold start loudly instead of the first request."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=3, max_length=255)
    dynamodb_endpoint_url: str | None = Field(default=None, alias="DYNAMODB_ENDPOINT_URL")
    config_cache_seconds: float = Field(default=30.0, alias="CONFIG_CACHE_SECONDS", ge=0, le=30)
    feed_concurrency: int = Field(default=8, alias="FEED_CONCURRENCY", ge=1, le=64)
    max_body_bytes: int = Field(default=2_000_000, alias="MAX_BODY_BYTES", ge=1_000, le=6_000_000)
    signal_retention_days: int = Field(default=90, alias="SIGNAL_RETENTION_DAYS", ge=1, le=3650)
    signal_event_bus: str | None = Field(
        default=None, alias="SIGNAL_EVENT_BUS", min_length=1, max_length=256
    )
    """The EventBridge bus demand signals are published to; none: stored only."""
    restock_threshold: float | None = Field(
        default=None, alias="RESTOCK_THRESHOLD", ge=0, le=1_000_000
    )
    """Unmet units a day at or above which the daily restocking run publishes
    ``RESTOCK_SUGGESTED``; none: the run suggests nothing."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        fields = {f.alias for f in cls.model_fields.values() if f.alias}
        return cls.model_validate({k: v for k, v in environ.items() if k in fields and v != ""})
