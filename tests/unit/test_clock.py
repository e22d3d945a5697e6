"""Times as stored: fixed-width ISO 8601 strings that sort as the times do."""

from datetime import UTC, datetime, timedelta, timezone

from holdfast.domain.clock import from_iso, to_iso


def test_stored_times_are_fixed_width_and_round_trip_even_before_the_year_1000() -> None:
    for moment in (
        datetime(2026, 11, 27, 9, 26, 20, 123456, tzinfo=UTC),
        datetime(282, 7, 20, 14, 16, 19, 10000, tzinfo=UTC),  # strftime's %Y would give "282"
        datetime(2026, 11, 27, 20, 0, tzinfo=timezone(timedelta(hours=11))),
    ):
        text = to_iso(moment)
        assert len(text) == len("2026-11-27T09:26:20.123Z"), text
        assert from_iso(text) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)
