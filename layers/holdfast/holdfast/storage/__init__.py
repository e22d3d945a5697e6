"""The one package that knows the DynamoDB table.

:mod:`~holdfast.storage.keys` (partition and sort keys), :mod:`~holdfast.storage.records`
and :mod:`~holdfast.storage.documents` (stored items as records, encoded and decoded),
:mod:`~holdfast.storage.changes` (stream images decoded), :mod:`~holdfast.storage.reads`,
:mod:`~holdfast.storage.counters` and :mod:`~holdfast.storage.transactions` (the items of one
TransactWriteItems), :mod:`~holdfast.storage.commits` (running it, retries, conflicts),
:mod:`~holdfast.storage.plans` (the domain's plans committed),
:mod:`~holdfast.storage.feed` (the stock feed's plans and a count's fence committed) and
:mod:`~holdfast.storage.table` (:class:`InventoryTable`, what the services hold);
:mod:`~holdfast.storage.signals` keeps the demand signals' items.
"""

from holdfast.domain.documents import CartRecord, OrderRecord, ProductLine
from holdfast.storage.changes import table_change
from holdfast.storage.commits import COMMIT_ATTEMPTS, WriteConflict, cancellation_codes
from holdfast.storage.keys import (
    EXPIRY_INDEX,
    FO_KIND,
    SHARD_ENTITY,
    PositionKey,
    document_key,
    shard_key,
    timer_key,
)
from holdfast.storage.records import (
    CounterChange,
    CounterImage,
    PositionRecord,
    TimerRecord,
    counter_from_image,
    from_item,
    quantity_from,
    timer_from_image,
    to_item,
)
from holdfast.storage.table import InventoryTable
from holdfast.storage.transactions import WriteTransaction

__all__ = [
    "COMMIT_ATTEMPTS",
    "EXPIRY_INDEX",
    "FO_KIND",
    "SHARD_ENTITY",
    "CartRecord",
    "CounterChange",
    "CounterImage",
    "InventoryTable",
    "OrderRecord",
    "PositionKey",
    "PositionRecord",
    "ProductLine",
    "TimerRecord",
    "WriteConflict",
    "WriteTransaction",
    "cancellation_codes",
    "counter_from_image",
    "document_key",
    "from_item",
    "quantity_from",
    "shard_key",
    "table_change",
    "timer_from_image",
    "timer_key",
    "to_item",
]
