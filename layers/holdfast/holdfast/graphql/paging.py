"""Relay-style connections (``edges { cursor node }`` and ``pageInfo``) over a list that a
resolver has already computed in a stable order, paged by ``first``/``after`` (and
``last``/``before``). Cursors are opaque offsets: the same arguments give the same order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from holdfast.errors import InvalidInput
from holdfast.graphql.mapping import opaque_id, ref_of_id

MAX_PAGE = 100
"""The most edges one connection answers; also the default page size."""


def connection(items: Sequence[Any], args: dict[str, Any]) -> dict[str, Any]:
    first, last = _count(args, "first"), _count(args, "last")
    after, before = args.get("after"), args.get("before")
    start = _offset(after, "after") + 1 if after else 0
    end = _offset(before, "before") if before else len(items)
    end = min(end, len(items))
    start = min(start, end)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    if first is None and last is None:
        end = min(end, start + MAX_PAGE)
    edges = [
        {"cursor": opaque_id("cursor", str(index)), "node": items[index]}
        for index in range(start, end)
    ]
    return {
        "edges": edges,
        "pageInfo": {"hasNextPage": end < len(items), "hasPreviousPage": start > 0},
    }


def _count(args: dict[str, Any], name: str) -> int | None:
    value = args.get(name)
    if value is not None and not 0 <= value <= MAX_PAGE:
        raise InvalidInput.field(name, f"must be between 0 and {MAX_PAGE}")
    return value


def _offset(cursor: str, name: str) -> int:
    text = ref_of_id("cursor", cursor, name)
    if not text.isdigit() or len(text) > 6:
        raise InvalidInput.field(name, "is not a cursor this connection answered")
    return int(text)
