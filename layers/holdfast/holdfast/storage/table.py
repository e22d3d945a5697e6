"""The table as the services see it: reads, plans committed, configuration writes.

Holds no business rules: callers decide what to write (a plan, or a transaction they built);
this package decides how it is written.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from holdfast.domain.clock import to_iso
from holdfast.domain.configuration import Product
from holdfast.storage.feed import FeedCommits
from holdfast.storage.keys import CONFIG_PK, PRODUCT_SK, product_pk
from holdfast.storage.records import to_item


class InventoryTable(FeedCommits):
    """Typed access to the Holdfast table. Holds no business rules: callers decide what to
    write; this package decides how it is written."""

    def put_configuration(
        self, kind: str, name: str | None, body: BaseModel, now: datetime
    ) -> None:
        """Store a channel, location or the timers (``kind`` CHANNEL, LOCATION or TIMERS)."""
        sk = kind if name is None else f"{kind}#{name}"
        self._client.put_item(
            TableName=self.table_name,
            Item=to_item(
                {
                    "pk": CONFIG_PK,
                    "sk": sk,
                    "entity": kind,
                    "body": body.model_dump_json(),
                    "updatedAt": to_iso(now),
                }
            ),
        )

    def put_product(self, product: Product, now: datetime) -> None:
        self._client.put_item(
            TableName=self.table_name,
            Item=to_item(
                {
                    "pk": product_pk(product.ref),
                    "sk": PRODUCT_SK,
                    "entity": "PRODUCT",
                    "body": product.model_dump_json(exclude={"ref"}),
                    "updatedAt": to_iso(now),
                }
            ),
        )
