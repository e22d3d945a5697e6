"""A stand-in for EventBridge that keeps what the signals publisher sends (moto's EventBridge
does not show the entries a bus received)."""

from __future__ import annotations

from typing import Any

from holdfast import runtime
from holdfast.runtime import reset_runtime

BUS = "holdfast-signals-test"


class RecordingEventBridge:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.sent.extend(Entries)
        return {
            "FailedEntryCount": 0,
            "Entries": [{"EventId": str(n)} for n, _ in enumerate(Entries)],
        }


def record_signal_bus(monkeypatch) -> list[dict[str, Any]]:
    """Give the runtime a signal bus (``SIGNAL_EVENT_BUS``) and send its events to a recorder;
    answers the list the entries land in. Set the environment before calling: the runtime is
    built afresh here."""
    monkeypatch.setenv("SIGNAL_EVENT_BUS", BUS)
    reset_runtime()
    bridge = RecordingEventBridge()
    monkeypatch.setattr(runtime.get_runtime().signals.publisher, "_client", bridge)
    return bridge.sent
