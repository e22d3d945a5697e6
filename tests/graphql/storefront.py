"""Arranging a retailer through the REST routes and speaking GraphQL to ``POST /graphql``,
as a storefront would: shared by the GraphQL tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from holdfast_cli.local.api import ApiResponse, LocalApi, http_event

SKU = "ACME_SNEAKER_BLK_US9"
SOCKS = "ACME_SOCKS_WHT"
DC = "MAIN_DC"
STORE = "STORE_SYDNEY"
STORE_2 = "STORE_MELBOURNE"
AS_OF = "2024-03-15T08:00:00.000Z"

FO_SELECTION = """
  id ref status type retailerId
  plans { edges { cursor node { ref status type splitCount
    fulfilments { fulfilmentType locationRef items { productRef availableQuantity requestedQuantity } } } }
    pageInfo { hasNextPage } }
"""
CREATE = f"""
mutation ($input: CreateFulfilmentOptionInput, $executionMode: ExecutionMode) {{
  createFulfilmentOption(input: $input, executionMode: $executionMode) {{ {FO_SELECTION} }}
}}
"""


def arrange(
    api: LocalApi,
    *,
    buffer: dict[str, Any] | None = None,
    counts: dict[tuple[str, str], int] | None = None,
) -> None:
    """One channel (ECOMMERCE) sold from a DC (HD) and two stores (CC), with stock."""
    assert api.put("/channels/ECOMMERCE", {"buffer": buffer or {"type": "NONE"}}).status == 200
    locations = {
        DC: ("DC", ["HD"], 1),
        STORE: ("STORE", ["CC", "HD"], 2),
        STORE_2: ("STORE", ["CC"], 3),
    }
    for ref, (kind, delivery, priority) in locations.items():
        body = {
            "type": kind,
            "deliveryTypes": delivery,
            "channels": ["ECOMMERCE"],
            "priority": priority,
        }
        assert api.put(f"/locations/{ref}", body).status == 200
    counts = (
        counts
        if counts is not None
        else {(SKU, DC): 10, (SKU, STORE): 3, (SOCKS, DC): 5, (SKU, STORE_2): 1}
    )
    entities = [
        {"productRef": p, "locationRef": loc, "type": "LAST_ON_HAND", "quantity": q, "asOf": AS_OF}
        for (p, loc), q in counts.items()
    ]
    if entities:
        assert api.post("/inventory/batch", {"entities": entities}).status == 200


def graphql(
    api: LocalApi,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    scopes: list[str] | None = None,
    **extra: Any,
) -> ApiResponse:
    """POST /graphql; with ``scopes``, as API Gateway passes a JWT's scopes."""
    body = {"query": query, "variables": variables, **extra}
    if scopes is None:
        return api.post("/graphql", body)
    return invoke_with_scopes(api, body, scopes)


def invoke_with_scopes(api: LocalApi, body: dict[str, Any], scopes: list[str]) -> ApiResponse:
    """POST /graphql with the ``authorizer.jwt`` block API Gateway adds for a token."""
    (route,) = [r for r in api.routes if r.path == "/graphql"]
    event = http_event(
        route,
        "POST",
        "/graphql",
        body=json.dumps(body),
        headers={"content-type": "application/json"},
    )
    event["requestContext"]["authorizer"] = {
        "jwt": {"claims": {"scope": " ".join(scopes)}, "scopes": scopes}
    }
    result = api.invoke(route.function, event)
    return ApiResponse(result["statusCode"], result["headers"], result["body"])


def fo_input(ref: str | None = None, *, products: Any = None, **fields: Any) -> dict[str, Any]:
    """A CreateFulfilmentOptionInput as the storefronts in docs/graphql.md send it."""
    return {
        "ref": ref or str(uuid.uuid4()),
        "type": "HD",
        "retailerId": 1,
        "products": products
        if products is not None
        else [{"productRef": SKU, "requestedQuantity": 1}],
        **fields,
    }


def data(response: ApiResponse) -> dict[str, Any]:
    assert response.status == 200, response.body
    payload = response.json()
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def errors(response: ApiResponse) -> list[dict[str, Any]]:
    assert response.status == 200, response.body
    payload = response.json()
    assert payload.get("errors"), payload
    return payload["errors"]
