"""Connections page a stable list by first/after and last/before, with opaque cursors."""

from __future__ import annotations

import pytest

from holdfast.errors import InvalidInput
from holdfast.graphql.paging import MAX_PAGE, connection

ITEMS = list("abcdefg")


def page(**args) -> tuple[list[str], dict[str, bool]]:
    answer = connection(ITEMS, args)
    return [edge["node"] for edge in answer["edges"]], answer["pageInfo"]


def cursor_of(item: str) -> str:
    return next(edge["cursor"] for edge in connection(ITEMS, {})["edges"] if edge["node"] == item)


def test_first_and_after_walk_the_list_forward() -> None:
    assert page(first=3) == (["a", "b", "c"], {"hasNextPage": True, "hasPreviousPage": False})
    assert page(first=3, after=cursor_of("c")) == (
        ["d", "e", "f"],
        {"hasNextPage": True, "hasPreviousPage": True},
    )
    assert page(first=3, after=cursor_of("f")) == (
        ["g"],
        {"hasNextPage": False, "hasPreviousPage": True},
    )


def test_last_and_before_walk_it_backward() -> None:
    assert page(last=2) == (["f", "g"], {"hasNextPage": False, "hasPreviousPage": True})
    assert page(last=2, before=cursor_of("f")) == (
        ["d", "e"],
        {"hasNextPage": True, "hasPreviousPage": True},
    )


def test_without_first_a_page_is_at_most_the_maximum() -> None:
    answer = connection(list(range(MAX_PAGE + 5)), {})
    assert len(answer["edges"]) == MAX_PAGE and answer["pageInfo"]["hasNextPage"]


@pytest.mark.parametrize(
    "args",
    [
        {"first": -1},
        {"first": MAX_PAGE + 1},
        {"after": "not-a-cursor"},
        {"after": "Y3Vyc29yOi0x"},
        {"before": "RnVsZmlsbWVudE9wdGlvbjpjYXJ0LTE"},
    ],
)
def test_bad_paging_arguments_are_refused(args) -> None:
    with pytest.raises(InvalidInput):
        connection(ITEMS, args)
