"""Pydantic models of the HTTP contract (docs/behaviour.md §9): request bodies and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, model_validator

from holdfast.domain.configuration import MAX_STOCK
from holdfast.domain.ledger import IqType, check_feed_quantity
from holdfast.domain.planning import MAX_ALLOCATIONS
from holdfast.domain.refs import DEFAULT_CATALOGUE, Ref

MAX_BATCH_ENTITIES = 5_000
"""Entities one ``POST /inventory/batch`` may carry."""


class _Body(BaseModel):
    # Built on first use, not at import: keeps the handlers' cold start near Powertools' own.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class _View(BaseModel):
    model_config = ConfigDict(defer_build=True)


class InventoryUpdate(_Body):
    """One entity of a stock feed batch."""

    productRef: Ref
    locationRef: Ref
    catalogue: Ref = DEFAULT_CATALOGUE
    type: Literal["LAST_ON_HAND", "DELTA", "CORRECTION", "RETURNED"]
    quantity: StrictInt = Field(ge=-MAX_STOCK, le=MAX_STOCK)
    asOf: AwareDatetime | None = None
    sourceRef: Ref | None = None

    @model_validator(mode="after")
    def _check_quantity_and_source(self) -> InventoryUpdate:
        problem = check_feed_quantity(IqType(self.type), self.quantity)
        if problem:
            raise ValueError(f"quantity: {problem}")
        if self.type != "LAST_ON_HAND" and self.sourceRef is None:
            raise ValueError(
                f"sourceRef: required for {self.type}, so a retried feed is applied once"
            )
        if self.type == "LAST_ON_HAND" and self.sourceRef is not None:
            raise ValueError("sourceRef: a LAST_ON_HAND is identified by its asOf, not a sourceRef")
        return self


class InventoryBatchRequest(_Body):
    # Entities are validated one by one so one bad entity is INVALID, not the whole batch.
    entities: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH_ENTITIES)


EntityStatus = Literal["APPLIED", "UNCHANGED", "STALE", "INVALID", "RETRY"]


class EntityResult(_View):
    index: int
    status: EntityStatus
    productRef: str | None = None
    locationRef: str | None = None
    type: str | None = None
    iqRef: str | None = None
    onHand: int | None = None
    message: str | None = None
    details: list[dict[str, Any]] = Field(default_factory=list)


class InventoryBatchResponse(_View):
    results: list[EntityResult]
    summary: dict[str, int]


class QuantityView(_View):
    iqRef: str
    type: str
    quantity: int
    status: Literal["ACTIVE", "INACTIVE"]
    asOf: str
    createdAt: str
    sourceRef: str | None = None
    expiresAt: str | None = None


class InventoryPositionView(_View):
    ref: str
    productRef: str
    locationRef: str
    catalogue: str
    onHand: int
    lastSnapshotAsOf: str | None = None
    updatedAt: str | None = None
    quantities: list[QuantityView]
    nextToken: str | None = None
    """Present when more of the ledger matches: send it back for the next page."""


class VirtualPositionView(_View):
    ref: str
    type: Literal["BASE", "AGGREGATE"]
    channel: str
    productRef: str
    locationRef: str | None
    quantity: int


class VirtualPositionsResponse(_View):
    items: list[VirtualPositionView]


class ErrorDetail(_View):
    code: str
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)
    correlationId: str = Field(
        description="the request's x-correlation-id header, or API Gateway's request id"
    )


class ErrorResponse(_View):
    error: ErrorDetail


MAX_LINES = MAX_ALLOCATIONS
"""Lines in one cart or order: each becomes at least one allocation."""
MAX_LINE_QUANTITY = 10_000


class Line(_Body):
    productRef: Ref
    quantity: StrictInt = Field(ge=1, le=MAX_LINE_QUANTITY)


def _check_merged(lines: list[Line]) -> None:
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.productRef] = totals.get(line.productRef, 0) + line.quantity
        if totals[line.productRef] > MAX_LINE_QUANTITY:
            raise ValueError(f"lines: {line.productRef} totals more than {MAX_LINE_QUANTITY} units")


class FulfilmentOptionRequest(_Body):
    """``POST /fulfilment-options``: find where a cart can be served from and hold it."""

    ref: Ref
    channel: Ref
    deliveryType: Literal["HD", "CC"]
    locationRef: Ref | None = None
    lines: list[Line] = Field(min_length=1, max_length=MAX_LINES)
    allowSplit: bool = False
    allowPartial: bool = False
    replaces: Ref | None = Field(
        default=None, description="an ACTIVE fulfilment option this cart replaces"
    )

    @model_validator(mode="after")
    def _check(self) -> FulfilmentOptionRequest:
        if self.deliveryType == "CC" and self.locationRef is None:
            raise ValueError("locationRef: required for CC (the pickup store)")
        if self.replaces == self.ref:
            raise ValueError("replaces: a fulfilment option cannot replace itself")
        _check_merged(self.lines)
        return self


class OrderRequest(_Body):
    """``POST /orders``: confirm a purchase, converting the cart's holds where it has them."""

    ref: Ref
    channel: Ref
    deliveryType: Literal["HD", "CC"]
    locationRef: Ref | None = None
    fulfilmentOptionRef: Ref | None = None
    lines: list[Line] = Field(min_length=1, max_length=MAX_LINES)

    @model_validator(mode="after")
    def _check(self) -> OrderRequest:
        if self.deliveryType == "CC" and self.locationRef is None:
            raise ValueError("locationRef: required for CC (the pickup store)")
        _check_merged(self.lines)
        return self


class AllocationView(_View):
    productRef: str
    locationRef: str
    quantity: int


class FulfilmentView(_View):
    locationRef: str
    items: list[Line]


class PlanView(_View):
    type: Literal["SINGLE", "SPLIT", "PARTIAL"]
    fulfilments: list[FulfilmentView]


class ShortfallView(_View):
    productRef: str
    requested: int
    available: int


FulfilmentOptionStatus = Literal[
    "ACTIVE", "NO_OPTIONS", "CANCELLED", "EXPIRED", "CONVERTED", "REPLACED"
]


class FulfilmentOptionView(_View):
    ref: str
    status: FulfilmentOptionStatus
    channel: str
    deliveryType: str
    locationRef: str | None
    lines: list[Line]
    plans: list[PlanView]
    reservedPlan: PlanView | None
    shortfall: list[ShortfallView] = Field(default_factory=list)
    createdAt: str
    expiresAt: str | None
    timerMinutes: int
    extended: bool = False
    orderRef: str | None = None
    replaces: str | None = None


OrderStatus = Literal["CONFIRMED", "SHIPPED", "CANCELLED", "RETURNED"]


class OrderView(_View):
    ref: str
    status: OrderStatus
    channel: str
    deliveryType: str
    locationRef: str | None
    fulfilmentOptionRef: str | None
    lines: list[Line]
    allocations: list[AllocationView]
    convertedFromHold: bool
    secondsToConvert: float | None = None
    createdAt: str
    updatedAt: str
