"""How Fluent's words map onto Holdfast's: catalogues to channels, option types to delivery
types, which channel a cart holds for, the retailer id, and opaque ids. All of it is
configuration (the ``GRAPHQL_MAPPING`` environment variable, JSON), read once at cold start;
docs/graphql.md describes every key."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping as MappingType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from holdfast.domain.configuration import Configuration
from holdfast.domain.refs import DEFAULT_CATALOGUE, Ref
from holdfast.errors import InvalidInput

DeliveryType = Literal["HD", "CC"]

_DELIVERY_TYPES: dict[str, DeliveryType] = {
    "HD": "HD",
    "CC": "CC",
    "HOME_DELIVERY": "HD",
    "CLICK_AND_COLLECT": "CC",
}


class GraphqlMapping(BaseModel):
    """The ``GRAPHQL_MAPPING`` document. Every key is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retailerId: StrictInt = Field(default=1, ge=1)
    """What ``retailerId`` answers say (Holdfast serves one retailer per deployment)."""
    defaultChannel: Ref | None = None
    """The channel used when nothing else names one."""
    catalogueChannels: dict[str, Ref] = Field(default_factory=dict)
    """Virtual catalogue ref → channel. A catalogue not listed means the channel of that name."""
    typeChannels: dict[str, Ref] = Field(default_factory=dict)
    """Fulfilment option ``type`` → the channel a cart of that type holds for."""
    deliveryTypes: dict[str, DeliveryType] = Field(default_factory=lambda: dict(_DELIVERY_TYPES))
    """``orderType`` (first) or ``type`` value → Holdfast's delivery type."""
    defaultDeliveryType: DeliveryType = "HD"
    """The delivery type when neither ``orderType`` nor ``type`` is in ``deliveryTypes``."""
    inventoryCatalogues: dict[str, Ref] = Field(default_factory=dict)
    """Inventory catalogue ref → Holdfast catalogue. ``DEFAULT`` and ``DEFAULT:<retailerId>``
    always mean ``DEFAULT``; any other valid ref means the catalogue of that name."""
    cancelStatuses: list[str] = Field(default_factory=lambda: ["CANCELLED", "CANCELED", "INACTIVE"])
    """``updateFulfilmentOption`` statuses that cancel the option and release its hold."""

    @classmethod
    def from_environment(cls, environ: MappingType[str, str] | None = None) -> GraphqlMapping:
        raw = (os.environ if environ is None else environ).get("GRAPHQL_MAPPING") or "{}"
        try:
            return cls.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as error:
            raise ValueError(f"GRAPHQL_MAPPING is not a valid mapping: {error}") from None

    def channel_for_catalogue(self, catalogue_ref: str | None, configuration: Configuration) -> str:
        """The channel a virtual catalogue ref stands for (none: the default channel)."""
        if catalogue_ref is None:
            return self.default_channel(configuration, "catalogue")
        return self.catalogueChannels.get(catalogue_ref, catalogue_ref)

    def channel_for_option(
        self, attribute: str | None, option_type: str, configuration: Configuration
    ) -> str:
        """In order: an input attribute named ``channel``, the channel mapped from the option's
        ``type``, the configured default channel, the only configured channel."""
        if attribute:
            return attribute
        if option_type in self.typeChannels:
            return self.typeChannels[option_type]
        return self.default_channel(configuration, "attributes")

    def default_channel(self, configuration: Configuration, field: str) -> str:
        if self.defaultChannel:
            return self.defaultChannel
        if len(configuration.channels) == 1:
            return next(iter(configuration.channels))
        raise InvalidInput.field(
            field,
            "name the channel: no default channel is configured and there is not exactly one channel "
            "(see GRAPHQL_MAPPING in docs/graphql.md)",
        )

    def delivery_type(self, order_type: str | None, option_type: str) -> DeliveryType:
        if order_type and order_type in self.deliveryTypes:
            return self.deliveryTypes[order_type]
        return self.deliveryTypes.get(option_type, self.defaultDeliveryType)

    def holdfast_catalogue(self, catalogue_ref: str | None) -> str:
        """The Holdfast catalogue an inventory catalogue ref names."""
        if catalogue_ref is None or catalogue_ref in (
            DEFAULT_CATALOGUE,
            f"DEFAULT:{self.retailerId}",
        ):
            return DEFAULT_CATALOGUE
        return self.inventoryCatalogues.get(catalogue_ref, catalogue_ref)

    def inventory_catalogue_ref(self, catalogue: str) -> str:
        """The inventory catalogue ref answered for a Holdfast catalogue."""
        if catalogue == DEFAULT_CATALOGUE:
            return f"DEFAULT:{self.retailerId}"
        for ref, name in self.inventoryCatalogues.items():
            if name == catalogue:
                return ref
        return catalogue


def opaque_id(kind: str, ref: str) -> str:
    """A stable, opaque id: the same entity always answers the same id."""
    return base64.urlsafe_b64encode(f"{kind}:{ref}".encode()).decode().rstrip("=")


def ref_of_id(kind: str, value: str, field: str = "id") -> str:
    """The ref inside an id from :func:`opaque_id`; anything else is invalid input."""
    try:
        decoded = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    prefix = f"{kind}:"
    if not decoded.startswith(prefix) or len(value) > 400:
        raise InvalidInput.field(field, f"is not a {kind} id this API answered")
    return decoded[len(prefix) :]
