"""Fulfilment options stored by earlier versions (no ``latencyMs``, ``replaces`` or ``extended``
in the body) answer exactly as they did, and can still be extended and cancelled through the
API (docs/architecture.md, the table's items)."""

from __future__ import annotations

import json
import os

from tests.integration.test_fulfilment_options import DC, SKU, ats, hold, shop


def rewrite_body_as_before(client, ref: str, *dropped: str) -> None:
    key = {"pk": {"S": f"FO#{ref}"}, "sk": {"S": "#FO"}}
    item = client.get_item(TableName=os.environ["TABLE_NAME"], Key=key)["Item"]
    body = json.loads(item["body"]["S"])
    for name in dropped:
        del body[name]
    item["body"] = {"S": json.dumps(body, separators=(",", ":"))}
    client.put_item(TableName=os.environ["TABLE_NAME"], Item=item)


def test_a_cart_stored_before_latency_and_extensions_were_recorded_answers_as_it_did(
    api, clock, moto_table
) -> None:
    shop(api, 5)
    created = hold(api, "cart-1", (SKU, 2))
    assert created.status == 201, created.body
    rewrite_body_as_before(moto_table, "cart-1", "latencyMs", "replaces", "extended")

    assert api.get("/fulfilment-options/cart-1").body == created.body
    extended = api.post("/fulfilment-options/cart-1/extend", query={"requestId": "ext-1"})
    assert extended.status == 200 and extended.json()["extended"] is True, extended.body
    again = api.post("/fulfilment-options/cart-1/extend", query={"requestId": "ext-1"})
    assert again.body == extended.body
    assert ats(api, SKU, DC) == 3
    cancelled = api.delete("/fulfilment-options/cart-1")
    assert cancelled.json()["status"] == "CANCELLED", cancelled.body
    assert ats(api, SKU, DC) == 5
