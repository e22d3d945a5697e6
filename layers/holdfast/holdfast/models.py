"""Pydantic models of the HTTP contract (SPEC §9): request bodies and answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, model_validator

from holdfast.domain.configuration import MAX_STOCK
from holdfast.domain.ledger import IqType, check_feed_quantity
from holdfast.domain.refs import DEFAULT_CATALOGUE, Ref

MAX_BATCH_ENTITIES = 5_000
"""Entities one ``POST /inventory/batch`` may carry."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    def _check_quantity_and_source(self) -> "InventoryUpdate":
        problem = check_feed_quantity(IqType(self.type), self.quantity)
        if problem:
            raise ValueError(f"quantity: {problem}")
        if self.type != "LAST_ON_HAND" and self.sourceRef is None:
            raise ValueError(f"sourceRef: required for {self.type}, so a retried feed is applied once")
        if self.type == "LAST_ON_HAND" and self.sourceRef is not None:
            raise ValueError("sourceRef: a LAST_ON_HAND is identified by its asOf, not a sourceRef")
        return self


class InventoryBatchRequest(_Body):
    # Entities are validated one by one so one bad entity is INVALID, not the whole batch.
    entities: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH_ENTITIES)


EntityStatus = Literal["APPLIED", "UNCHANGED", "STALE", "INVALID"]


class EntityResult(BaseModel):
    index: int
    status: EntityStatus
    productRef: str | None = None
    locationRef: str | None = None
    type: str | None = None
    iqRef: str | None = None
    onHand: int | None = None
    message: str | None = None
    details: list[dict[str, Any]] = Field(default_factory=list)


class InventoryBatchResponse(BaseModel):
    results: list[EntityResult]
    summary: dict[str, int]


class QuantityView(BaseModel):
    iqRef: str
    type: str
    quantity: int
    status: Literal["ACTIVE", "INACTIVE"]
    asOf: str
    createdAt: str
    sourceRef: str | None = None
    expiresAt: str | None = None


class InventoryPositionView(BaseModel):
    ref: str
    productRef: str
    locationRef: str
    catalogue: str
    onHand: int
    lastSnapshotAsOf: str | None = None
    updatedAt: str | None = None
    quantities: list[QuantityView]


class VirtualPositionView(BaseModel):
    ref: str
    type: Literal["BASE", "AGGREGATE"]
    channel: str
    productRef: str
    locationRef: str | None
    quantity: int


class VirtualPositionsResponse(BaseModel):
    items: list[VirtualPositionView]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorDetail
