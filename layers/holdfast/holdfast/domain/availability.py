"""Available-to-sell arithmetic (docs/behaviour.md §3): exact decimals, buffers rounded up, never negative."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from holdfast.domain.configuration import Channel

UNREACHABLE = None
"""What :func:`min_on_hand_for` answers when no onHand can cover the quantity."""


def buffer_units(on_hand: int, channel: Channel) -> int:
    """Units the channel keeps back from ``on_hand``: a PERCENTAGE rounds up, for safety."""
    rule = channel.buffer
    if rule.type == "PERCENTAGE":
        if on_hand <= 0:
            return 0
        return int((Decimal(on_hand) * rule.value / 100).to_integral_value(rounding=ROUND_CEILING))
    if rule.type == "FIXED":
        return int(rule.value)
    return 0


def available_to_sell(on_hand: int, channel: Channel, location_ref: str) -> int:
    """The channel's ATS for one position: onHand less the buffer, 0 where excluded."""
    if location_ref in channel.excludedLocations:
        return 0
    return max(0, on_hand - buffer_units(on_hand, channel))


def min_on_hand_for(quantity: int, channel: Channel, location_ref: str) -> int | None:
    """The smallest onHand whose ATS covers ``quantity``, or ``None`` if no onHand can.

    A hold lowers the counter under the condition ``onHand >= min_on_hand_for(q)``; because
    ATS never falls as onHand rises, that condition is exactly "ATS still covers q".

    For a PERCENTAGE p: ``h − ceil(h·p/100) = floor(h·(100−p)/100) ≥ q ⇔ h ≥ 100·q/(100−p)``.
    """
    if location_ref in channel.excludedLocations:
        return UNREACHABLE
    rule = channel.buffer
    if rule.type == "PERCENTAGE":
        if rule.value >= 100:
            return UNREACHABLE
        exact = Decimal(100 * quantity) / (Decimal(100) - rule.value)
        return int(exact.to_integral_value(rounding=ROUND_CEILING))
    if rule.type == "FIXED":
        return quantity + int(rule.value)
    return quantity


def displayed_quantity(ats: int, channel: Channel) -> int:
    """What a shopper is shown: the ATS, capped where the channel hides exact stock."""
    if channel.displayCap is not None:
        return min(ats, channel.displayCap)
    return ats
