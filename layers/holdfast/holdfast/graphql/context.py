"""What every resolver receives as ``info.context``: the services, the mapping, and whether
this pass only checks a mutation document's inputs (nothing may be written in that pass)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from holdfast.graphql.mapping import GraphqlMapping


@dataclass
class GraphqlContext:
    runtime: Any
    """The function's :class:`holdfast.runtime.Runtime` (its services)."""
    mapping: GraphqlMapping
    dry_run: bool = False
    """True while every mutation's input is checked before any of them runs."""
    on_refused_oversell: Callable[[], None] = field(default=lambda: None)
    """Called when a cart is refused for lack of stock (the REST twin's metric)."""
