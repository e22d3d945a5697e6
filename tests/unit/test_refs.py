"""Reference formats (docs/behaviour.md §1): what a ref may contain, and how compound refs are built."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from holdfast.domain.refs import Ref, ip_ref, iq_ref, is_valid_ref, parse_ip_ref, vp_ref

REF = TypeAdapter(Ref)

VALID = [
    "ACME_SNEAKER_BLK_US9",
    "MAIN_DC",
    "a",
    "7",
    "cart-abc123-20240315",
    "sku.v2_x-1",
    "A" * 128,
]
INVALID = [
    "",
    "A" * 129,
    "_LEADING_UNDERSCORE",
    "-leading-dash",
    ".leading-dot",
    "SKU:1",  # ':' joins refs
    "SKU#1",  # '#' joins key parts in the table
    "has space",
    "tab\there",
    "trailing-newline\n",
    "CAFÉ",
    "slash/ref",
    "per%cent",
]


@pytest.mark.parametrize("value", VALID)
def test_valid_refs_are_accepted(value: str) -> None:
    assert is_valid_ref(value)
    assert REF.validate_python(value) == value


@pytest.mark.parametrize("value", INVALID)
def test_invalid_refs_are_refused(value: str) -> None:
    assert not is_valid_ref(value)
    with pytest.raises(ValidationError):
        REF.validate_python(value)


@pytest.mark.parametrize("value", [None, 5, ["SKU"], b"SKU"])
def test_non_strings_are_not_refs(value: object) -> None:
    assert not is_valid_ref(value)


def test_ref_length_limit_is_128_characters() -> None:
    assert is_valid_ref("x" * 128)
    assert not is_valid_ref("x" * 129)


def test_compound_refs_follow_the_spec() -> None:
    assert ip_ref("ACME_SNEAKER_BLK_US9", "MAIN_DC") == "ACME_SNEAKER_BLK_US9:MAIN_DC:DEFAULT"
    assert ip_ref("SKU", "STORE_1", "OUTLET") == "SKU:STORE_1:OUTLET"
    assert (
        vp_ref("ACME_SNEAKER_BLK_US9", "MAIN_DC", "ECOMMERCE")
        == "ACME_SNEAKER_BLK_US9:MAIN_DC:ECOMMERCE"
    )
    assert iq_ref("SKU:DC:DEFAULT", "LAST_ON_HAND") == "SKU:DC:DEFAULT:LAST_ON_HAND"
    assert (
        iq_ref("SKU:DC:DEFAULT", "SOFT_RESERVE", "FO_1234") == "SKU:DC:DEFAULT:SOFT_RESERVE:FO_1234"
    )


def test_parse_ip_ref_splits_product_location_and_catalogue() -> None:
    assert parse_ip_ref("ACME_SNEAKER_BLK_US9:MAIN_DC:DEFAULT") == (
        "ACME_SNEAKER_BLK_US9",
        "MAIN_DC",
        "DEFAULT",
    )
    assert parse_ip_ref("SKU:STORE_1:OUTLET") == ("SKU", "STORE_1", "OUTLET")


def test_parse_ip_ref_defaults_the_catalogue() -> None:
    assert parse_ip_ref("ACME_SNEAKER_BLK_US9:MAIN_DC") == (
        "ACME_SNEAKER_BLK_US9",
        "MAIN_DC",
        "DEFAULT",
    )


@pytest.mark.parametrize("value", ["SKU", "SKU:DC:DEFAULT:EXTRA", ""])
def test_parse_ip_ref_refuses_the_wrong_number_of_parts(value: str) -> None:
    with pytest.raises(ValueError, match="productRef:locationRef"):
        parse_ip_ref(value)


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("_SKU:DC", "productRef"),
        ("SKU#1:DC", "productRef"),
        ("SKU::DEFAULT", "locationRef"),
        ("SKU:D C", "locationRef"),
        ("SKU:DC:", "catalogue"),
        ("SKU:DC:" + "c" * 129, "catalogue"),
    ],
)
def test_parse_ip_ref_names_the_part_that_is_not_a_ref(value: str, part: str) -> None:
    with pytest.raises(ValueError, match=part):
        parse_ip_ref(value)
