"""Demand signals as EventBridge events for analytics tools: source ``holdfast``, one
detail-type per signal type, the signal itself as the detail (docs/signals.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from holdfast.domain.signals import Signal

EVENT_SOURCE = "holdfast"
PUT_EVENTS_LIMIT = 10


class PublishFailed(RuntimeError):
    """EventBridge refused some entries; the stream record is retried (signals are written
    again identically, and events carry the signal ``id`` so consumers can drop repeats)."""


class SignalPublisher:
    """PutEvents to one bus, 10 entries a call. Without a bus (``holdfast dev``, tests that do
    not ask for one) nothing is sent: the signals are still stored and queryable."""

    def __init__(self, client: Any, bus_name: str | None) -> None:
        self._client = client
        self.bus_name = bus_name

    def publish(self, signals: Sequence[Signal]) -> int:
        """Send the signals; answers how many events were sent."""
        if not self.bus_name or not signals:
            return 0
        entries = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": str(signal.type),
                "Detail": signal.model_dump_json(),
                "EventBusName": self.bus_name,
                "Resources": [],
            }
            for signal in signals
        ]
        for start in range(0, len(entries), PUT_EVENTS_LIMIT):
            response = self._client.put_events(Entries=entries[start : start + PUT_EVENTS_LIMIT])
            if response.get("FailedEntryCount"):
                codes = sorted(
                    {e.get("ErrorCode", "?") for e in response["Entries"] if e.get("ErrorCode")}
                )
                raise PublishFailed(
                    f"EventBridge refused {response['FailedEntryCount']} events: {', '.join(codes)}"
                )
        return len(entries)

    def publish_details(self, detail_type: str, details: Sequence[dict[str, Any]]) -> int:
        """Send other events of Holdfast's (``RESTOCK_SUGGESTED``) on the same bus; answers how
        many were sent (none without a bus)."""
        if not self.bus_name or not details:
            return 0
        entries = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": self.bus_name,
            }
            for detail in details
        ]
        for start in range(0, len(entries), PUT_EVENTS_LIMIT):
            response = self._client.put_events(Entries=entries[start : start + PUT_EVENTS_LIMIT])
            if response.get("FailedEntryCount"):
                raise PublishFailed(f"EventBridge refused {response['FailedEntryCount']} events")
        return len(entries)
