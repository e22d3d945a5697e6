"""Time: one format on the wire and in the table, and an injectable clock for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Anything that answers the current UTC time; services take one so tests can move time."""


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """``2026-11-27T09:26:20.123Z``: fixed width, so the strings sort as the times do."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"  # %Y is unpadded before 1000


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def compact(moment: datetime) -> str:
    """``20261127T092620123Z``: a time usable inside a ref (no ``:``)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S") + f"{moment.microsecond // 1000:03d}Z"


def truncate_to_millis(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
