"""Reference formats (docs/behaviour.md §1).

Refs are 1–128 characters of ``[A-Za-z0-9_.-]`` starting with a letter or digit. ``:`` joins
refs into compound refs and ``#`` joins key parts in the table, so neither may appear in a ref.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
_REF_RE = re.compile(REF_PATTERN)

DEFAULT_CATALOGUE = "DEFAULT"

Ref = Annotated[str, StringConstraints(pattern=REF_PATTERN)]
"""A validated ref, for pydantic models."""


def is_valid_ref(value: object) -> bool:
    return isinstance(value, str) and _REF_RE.fullmatch(value) is not None


def ip_ref(product_ref: str, location_ref: str, catalogue: str = DEFAULT_CATALOGUE) -> str:
    """``{productRef}:{locationRef}:{catalogue}`` — one product at one location."""
    return f"{product_ref}:{location_ref}:{catalogue}"


def vp_ref(product_ref: str, location_ref: str, channel: str) -> str:
    """``{productRef}:{locationRef}:{channel}`` — a product's ATS at a location for a channel."""
    return f"{product_ref}:{location_ref}:{channel}"


def iq_ref(position_ref: str, iq_type: str, source_ref: str | None = None) -> str:
    """``{ipRef}:{type}`` for the current snapshot, else ``{ipRef}:{type}:{sourceRef}``."""
    return (
        f"{position_ref}:{iq_type}"
        if source_ref is None
        else f"{position_ref}:{iq_type}:{source_ref}"
    )


def parse_ip_ref(value: str) -> tuple[str, str, str]:
    """Split an IP ref into (productRef, locationRef, catalogue); the catalogue may be omitted.

    Raises ``ValueError`` naming the part that is not a valid ref.
    """
    parts = value.split(":")
    if len(parts) == 2:
        parts.append(DEFAULT_CATALOGUE)
    if len(parts) != 3:
        raise ValueError("expected productRef:locationRef[:catalogue]")
    for name, part in zip(("productRef", "locationRef", "catalogue"), parts, strict=False):
        if not is_valid_ref(part):
            raise ValueError(f"{name} {part!r} is not a valid ref")
    return parts[0], parts[1], parts[2]
