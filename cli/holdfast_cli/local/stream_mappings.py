"""The template's event source mappings on the table's stream, and their filter patterns.

What Lambda's event source mapping for a ``Type: DynamoDB`` event does before a function
sees a record: its batch size, starting position, retries, and the ``FilterCriteria``
patterns, matched here as Lambda matches them (the operators the template uses).
:mod:`holdfast_cli.local.stream_poller` delivers the records the mappings accept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from holdfast_cli.local.template import TABLE_RESOURCE, functions

StartingPosition = Literal["LATEST", "TRIM_HORIZON"]


class UnsupportedPattern(ValueError):
    """A filter pattern uses an operator this local matcher does not implement."""


@dataclass(frozen=True)
class StreamMapping:
    """One ``Type: DynamoDB`` event of a function: what Lambda's event source mapping does."""

    function: str
    event: str
    batch_size: int = 100
    starting_position: StartingPosition = "LATEST"
    maximum_retry_attempts: int = -1
    """-1: retry until the record is too old (Lambda's default)."""
    maximum_record_age_seconds: int = -1
    """-1: records never get too old."""
    bisect_on_error: bool = False
    report_item_failures: bool = False
    filters: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def accepts(self, record: Mapping[str, Any]) -> bool:
        """Whether a Lambda-shaped record passes the mapping's filters (any one of them)."""
        return not self.filters or any(matches_pattern(p, record) for p in self.filters)

    @classmethod
    def from_event(cls, function: str, event: str, properties: Mapping[str, Any]) -> StreamMapping:
        criteria = properties.get("FilterCriteria") or {}
        filters = tuple(
            json.loads(f["Pattern"]) if isinstance(f["Pattern"], str) else f["Pattern"]
            for f in criteria.get("Filters", [])
        )
        for pattern in filters:
            check_pattern(pattern)
        return cls(
            function=function,
            event=event,
            batch_size=int(properties.get("BatchSize", 100)),
            starting_position=properties.get("StartingPosition", "LATEST"),
            maximum_retry_attempts=int(properties.get("MaximumRetryAttempts", -1)),
            maximum_record_age_seconds=int(properties.get("MaximumRecordAgeInSeconds", -1)),
            bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
            report_item_failures="ReportBatchItemFailures"
            in properties.get("FunctionResponseTypes", []),
            filters=filters,
        )


def stream_mappings(template: dict[str, Any] | None = None) -> list[StreamMapping]:
    """The template's event source mappings on the inventory table's stream."""
    found = []
    for spec in functions(template).values():
        for name, event in spec.events.items():
            if event.get("Type") == "DynamoDB" and _is_table_stream(
                event["Properties"].get("Stream")
            ):
                found.append(StreamMapping.from_event(spec.name, name, event["Properties"]))
    return found


def _is_table_stream(reference: Any) -> bool:
    """``!GetAtt InventoryTable.StreamArn`` in either of CloudFormation's spellings."""
    if not isinstance(reference, Mapping) or "Fn::GetAtt" not in reference:
        return False
    target = reference["Fn::GetAtt"]
    parts = target.split(".", 1) if isinstance(target, str) else list(target)
    return parts == [TABLE_RESOURCE, "StreamArn"]


_OPERATORS = frozenset({"exists", "prefix", "anything-but"})


def check_pattern(pattern: Mapping[str, Any]) -> None:
    """Raise :class:`UnsupportedPattern` for anything :func:`matches_pattern` cannot decide,
    so a template using more of the pattern language fails loudly instead of misfiltering."""
    for key, expected in pattern.items():
        if isinstance(expected, Mapping):
            check_pattern(expected)
        elif isinstance(expected, list):
            for rule in expected:
                if isinstance(rule, Mapping):
                    if len(rule) != 1 or next(iter(rule)) not in _OPERATORS:
                        raise UnsupportedPattern(f"{key}: unsupported filter rule {rule!r}")
                elif isinstance(rule, (list, tuple)):
                    raise UnsupportedPattern(f"{key}: nested lists are not filter rules")
        else:
            raise UnsupportedPattern(
                f"{key}: pattern values are objects or lists, not {expected!r}"
            )


def matches_pattern(pattern: Mapping[str, Any], event: Any) -> bool:
    """Lambda/EventBridge event filtering, for the subset Holdfast uses.

    Every key of the pattern must match: an object matches the event's object at that key
    recursively; a list matches when the event's value (or, for an array, any element) equals
    one of the listed values, or satisfies one of ``{"exists": bool}``, ``{"prefix": str}``,
    ``{"anything-but": value | [values]}``. Equality is by JSON type: ``"1"`` is not ``1``.
    """
    if not isinstance(event, Mapping):
        return False
    for key, expected in pattern.items():
        present = key in event
        value = event.get(key)
        if isinstance(expected, Mapping):
            if not matches_pattern(expected, value):
                return False
        elif not _matches_rules(expected, value, present):
            return False
    return True


def _matches_rules(rules: Sequence[Any], value: Any, present: bool) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in rules:
        if isinstance(rule, Mapping):
            ((operator, argument),) = rule.items()
            if operator == "exists":
                if bool(argument) == (present and not isinstance(value, Mapping)):
                    return True
            elif operator == "prefix":
                if present and any(isinstance(v, str) and v.startswith(argument) for v in values):
                    return True
            elif operator == "anything-but":
                excluded = argument if isinstance(argument, list) else [argument]
                if present and all(not any(_same(v, x) for x in excluded) for v in values):
                    return True
            else:
                raise UnsupportedPattern(f"unsupported filter rule {rule!r}")
        elif present and any(_same(v, rule) for v in values):
            return True
    return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b
