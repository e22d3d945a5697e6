"""Where the developer commands read demand signals (docs/behaviour.md §7): a running API
(``--api-url``, the ``GET /signals`` route, page by page) or straight from the table
(``--table`` [``--endpoint-url``], through the same service the route uses).

``holdfast signals export`` (:mod:`holdfast_cli.commands.signals`), ``holdfast report`` and
``holdfast simulate-day`` all read through :class:`SignalSource`.
"""

from __future__ import annotations

import argparse
import http.client
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from holdfast_cli.api_client import ApiClient

EXIT_OK, EXIT_ERROR = 0, 2
WINDOW = timedelta(days=31)
"""The longest range one query reads; longer exports are split into windows of this size."""
PAGE = 1000
SIGNAL_TYPES = ("FO_CALL", "OUT_OF_STOCK", "CONVERSION", "ABANDONED", "CANCELLED", "LOW_STOCK")


class SourceError(RuntimeError):
    """The API or the table refused the request, or could not be reached."""


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the signals come from, and the time range (shared with ``report funnel``)."""
    parser.add_argument(
        "--from",
        dest="start",
        type=parse_time,
        metavar="TIME",
        help="start, inclusive, ISO 8601 (default: a day before --to)",
    )
    parser.add_argument(
        "--to", dest="end", type=parse_time, metavar="TIME", help="end, exclusive (default: now)"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--api-url", help="a running Holdfast API (e.g. http://127.0.0.1:3000)")
    target.add_argument(
        "--table",
        default=os.environ.get("TABLE_NAME") or None,
        help="read the table directly (default: $TABLE_NAME)",
    )
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        help="with --table: DynamoDB endpoint, e.g. DynamoDB Local (default: $DYNAMODB_ENDPOINT_URL)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("HOLDFAST_TOKEN") or None,
        help="with --api-url: a bearer token with holdfast/read (default: $HOLDFAST_TOKEN)",
    )


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def time_range(args: argparse.Namespace) -> tuple[datetime, datetime]:
    end = args.end or datetime.now(UTC)
    start = args.start or end - timedelta(days=1)
    if start >= end:
        raise SourceError("--to must be after --from")
    return start, end


class SignalSource:
    """Signals and the funnel, over HTTP or from the table; the same answers either way."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._api_url = args.api_url.rstrip("/") if args.api_url else None
        self._client = (
            ApiClient(self._api_url, timeout=60, token=args.token) if self._api_url else None
        )
        self._service = None
        if self._api_url is None:
            if not args.table:
                raise SourceError(
                    "name the API with --api-url, or the table with --table or $TABLE_NAME"
                )
            from holdfast.runtime import build_runtime
            from holdfast.settings import Settings
            from holdfast_cli.local.aws_credentials import dynamodb_client

            settings = Settings(table_name=args.table, dynamodb_endpoint_url=args.endpoint_url)
            self._service = build_runtime(
                settings, client=dynamodb_client(args.endpoint_url)
            ).signals

    def signals(
        self, start: datetime, end: datetime, **filters: str | None
    ) -> Iterator[dict[str, Any]]:
        """Every signal in ``[start, end)`` passing ``filters``, oldest first, window by window."""
        while start < end:
            stop = min(end, start + WINDOW)
            token = None
            while True:
                items, token = self._page(start, stop, token, filters)
                yield from items
                if not token:
                    break
            start = stop

    def funnel(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        if self._service is not None:
            return [row.model_dump() for row in self._call(self._service.funnel, start, end)]
        return self._get("/reports/funnel", {"from": iso_time(start), "to": iso_time(end)})["items"]

    def report(
        self, name: str, start: datetime, end: datetime, params: dict[str, Any]
    ) -> dict[str, Any]:
        """A demand report (``GET /reports/{name}``) as its JSON answer; ``params`` are the
        route's query parameters besides the range."""
        if self._service is None:
            return self._get(
                f"/reports/{name}", {"from": iso_time(start), "to": iso_time(end), **params}
            )
        return self._report_from_table(name, start, end, params)

    def _report_from_table(
        self, name: str, start: datetime, end: datetime, params: dict[str, Any]
    ) -> dict[str, Any]:
        """The route's answer, from the service behind it, argument for argument (one branch
        per report, as the route has: long, but each branch reads on its own)."""
        from holdfast.services.demand_reports import DemandReports, Filters

        assert self._service is not None

        reports = DemandReports(self._service)
        filters = Filters(
            params.get("channel"), params.get("deliveryType"), params.get("productRef")
        )
        span = {"from": iso_time(start), "to": iso_time(end)}
        if name == "channels":
            return {
                "items": [
                    row.model_dump() for row in self._call(reports.channels, start, end, filters)
                ],
                **span,
            }
        if name == "locations":
            return {**self._call(reports.locations, start, end, filters).model_dump(), **span}
        if name == "affinity":
            answer = self._call(
                reports.affinity,
                start,
                end,
                filters,
                params.get("minCount", 2),
                params.get("limit", 50),
            )
            return {**answer.model_dump(), **span}
        if name == "timing":
            answer = self._call(
                reports.timing,
                start,
                end,
                filters,
                params.get("timeZone", "UTC"),
                params.get("bucketSeconds", 60),
            )
            return {**answer.model_dump(), **span}
        rows, published = self._call(
            reports.restocking, start, end, filters, params.get("threshold")
        )
        return {"items": [row.model_dump() for row in rows], "published": published, **span}

    def _page(
        self, start: datetime, end: datetime, token: str | None, filters: dict[str, str | None]
    ) -> tuple[list[dict[str, Any]], str | None]:
        if self._service is not None:
            items, token = self._call(
                self._service.query,
                start=start,
                end=end,
                kind=filters.get("type"),
                product_ref=filters.get("productRef"),
                location_ref=filters.get("locationRef"),
                channel=filters.get("channel"),
                limit=PAGE,
                token=token,
            )
            return [item.model_dump(mode="json") for item in items], token
        query = {
            "from": iso_time(start),
            "to": iso_time(end),
            "limit": PAGE,
            **{k: v for k, v in filters.items() if v},
        }
        if token:
            query["nextToken"] = token
        page = self._get("/signals", query)
        return page["items"], page.get("nextToken")

    @staticmethod
    def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        from holdfast.errors import HoldfastError

        try:
            return function(*args, **kwargs)
        except HoldfastError as error:
            raise SourceError(error.message) from None
        except (ClientError, BotoCoreError) as error:
            raise SourceError(f"DynamoDB: {error}") from None

    def _get(self, path: str, query: dict[str, Any]) -> dict[str, Any]:
        assert self._client is not None
        try:
            response = self._client.request("GET", path, query=query)
        except (OSError, http.client.HTTPException) as error:
            raise SourceError(f"cannot reach {self._api_url}: {error}") from None
        if not 200 <= response.status < 300:
            raise SourceError(f"GET {path} answered {response.status}: {response.body[:300]}")
        answer: dict[str, Any] = response.json()
        return answer


def iso_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
