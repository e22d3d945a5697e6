"""The Athena named queries of the export path give the table-backed reports' answers.

The same signals are analysed twice: by :mod:`holdfast.domain.demand` (what
``GET /reports/{name}`` serves from the table), and by the template's SQL, run on DuckDB over
Parquet files laid out as Firehose writes them (``signals/dt=…/type=…/``, columns of the Glue
table in template.yaml, some signals delivered twice). DuckDB gets the three Trino functions
the queries use as macros; everything else is SQL both engines read the same way."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from holdfast.domain import demand, restocking, timing_report
from holdfast.domain.clock import to_iso
from holdfast.domain.signals import Signal, SignalType
from holdfast.services.demand_reports import Filters
from holdfast_cli.local.template import PROJECT_ROOT, load_template

duckdb = pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

SQL = PROJECT_ROOT / "analytics" / "sql"
START = datetime(2026, 11, 27, 6, tzinfo=UTC)
SPAN = (START, START + timedelta(days=2))
PRODUCTS = [f"SKU_{n}" for n in range(1, 9)]
TRINO_FUNCTIONS = (
    "CREATE MACRO from_iso8601_timestamp(text) AS CAST(text AS TIMESTAMPTZ)",
    "CREATE MACRO at_timezone(moment, zone) AS timezone(zone, moment)",
    "CREATE MACRO day_of_week(moment) AS isodow(moment)",
)


def trading(seed: int = 5) -> list[Signal]:
    """Two days of carts over three channels, HD and CC, with holds, orders (from holds and
    afresh after expiry), abandonment, cancellations, refusals and low-stock crossings."""
    rng = random.Random(seed)
    signals: list[Signal] = []
    for n in range(400):
        at = (
            START if n == 0 else START + timedelta(seconds=rng.uniform(0, 2 * 86400 - 3600))
        )  # from is inclusive
        channel = rng.choice(["ECOMMERCE", "MOBILE", "MARKETPLACE"])
        store = rng.choice(["STORE_A", "STORE_B"]) if rng.random() < 0.3 else None
        where = store or rng.choice(["DC_1", "DC_2"])
        delivery = "CC" if store else "HD"
        products = rng.sample(PRODUCTS, rng.choice([1, 1, 2, 3]))
        if "SKU_1" in products and rng.random() < 0.6 and "SKU_2" not in products:
            products.append("SKU_2")
        refused = rng.random() < 0.1
        fo, timer = f"cart-{n}", rng.choice([10, 15])
        detail = {
            "deliveryType": delivery,
            "timerMinutes": timer,
            "planLocations": [] if refused else [where, "DC_1"],
        }
        for product in products:
            signals.append(
                signal(
                    SignalType.FO_CALL,
                    fo,
                    product,
                    at,
                    channel,
                    where,
                    outcome="NO_OPTIONS" if refused else "ACTIVE",
                    heldQuantity=0 if refused else 1,
                    detail=detail,
                )
            )
        if refused:
            signals.append(
                signal(
                    SignalType.OUT_OF_STOCK,
                    fo,
                    products[0],
                    at,
                    channel,
                    store,
                    detail={"deliveryType": delivery},
                )
            )
            continue
        fate, think = rng.random(), round(rng.lognormvariate(4.5, 0.6), 3)
        for product in products:
            ending = {
                "deliveryType": None if n % 17 == 0 else delivery,
                "locations": [where],
            }  # older endings had none
            if fate < 0.5:
                signals.append(
                    signal(
                        SignalType.CONVERSION,
                        fo,
                        product,
                        at + timedelta(seconds=think),
                        channel,
                        where,
                        orderRef=f"order-{n}",
                        secondsToConvert=think,
                        detail={**ending, "convertedFromHold": True},
                    )
                )
            elif fate < 0.85:
                signals.append(
                    signal(
                        SignalType.ABANDONED,
                        fo,
                        product,
                        at + timedelta(minutes=timer),
                        channel,
                        where,
                        detail=ending,
                    )
                )
                if fate > 0.75:
                    signals.append(
                        signal(
                            SignalType.CONVERSION,
                            fo,
                            product,
                            at + timedelta(minutes=timer + 5),
                            channel,
                            where,
                            orderRef=f"late-{n}",
                            detail={**ending, "convertedFromHold": False},
                        )
                    )
            else:
                signals.append(
                    signal(
                        SignalType.CANCELLED,
                        fo,
                        product,
                        at + timedelta(seconds=30),
                        channel,
                        where,
                        outcome="CANCELLED",
                        detail=ending,
                    )
                )
    for n in range(25):
        at = (
            SPAN[1] if n == 0 else START + timedelta(seconds=rng.uniform(0, 2 * 86400))
        )  # to is exclusive
        signals.append(
            signal(
                SignalType.LOW_STOCK,
                None,
                rng.choice(PRODUCTS),
                at,
                "ECOMMERCE",
                rng.choice(["DC_1", "STORE_A"]),
                ident=f"LOW_STOCK#{n}",
                quantity=rng.choice([0, 1, 2]),
            )
        )
    return signals


def signal(
    kind: SignalType,
    fo: str | None,
    product: str,
    at: datetime,
    channel: str,
    location: str | None,
    *,
    ident: str | None = None,
    quantity: int = 1,
    **fields: Any,
) -> Signal:
    ref = fields.get("orderRef") or fo
    return Signal(
        id=ident or f"{kind}#{ref}#{product}",
        type=kind,
        at=to_iso(at),
        productRef=product,
        locationRef=location,
        channel=channel,
        quantity=quantity,
        foRef=fo,
        **fields,
    )


def glue_columns() -> list[tuple[str, str]]:
    table = load_template()["Resources"]["SignalAnalyticsTable"]["Properties"]["TableInput"]
    return [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]


def arrow_type(hive: str) -> Any:
    """A Hive type of the Glue table as a pyarrow type (the ones the table uses)."""
    scalars = {
        "string": pa.string(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
    }
    if hive in scalars:
        return scalars[hive]
    if hive.startswith("array<"):
        return pa.list_(arrow_type(hive[6:-1]))
    fields = re.findall(r"(\w+):(array<\w+>|\w+)", hive[7:-1])
    return pa.struct([(name, arrow_type(kind)) for name, kind in fields])


def as_firehose_row(signal: Signal, columns: list[tuple[str, str]]) -> dict[str, Any]:
    """What the OpenX JSON SerDe keeps of the signal's JSON: the table's columns, keys matched
    without case, unknown keys dropped."""
    body = {key.lower(): value for key, value in signal.model_dump(mode="json").items()}
    body["detail"] = {key.lower(): value for key, value in signal.detail.items()}
    body["detail"] = {
        name: body["detail"].get(name)
        for name in re.findall(r"(\w+):", dict(columns)["detail"][7:-1])
    }
    return {name: body.get(name) for name, _ in columns}


def write_parquet(root: Path, signals: list[Signal]) -> None:
    columns = glue_columns()
    schema = pa.schema([(name, arrow_type(kind)) for name, kind in columns])
    parts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for signal in signals:
        parts.setdefault((signal.at[:10], str(signal.type)), []).append(
            as_firehose_row(signal, columns)
        )
    for number, ((day, kind), rows) in enumerate(sorted(parts.items())):
        folder = root / "signals" / f"dt={day}" / f"type={kind}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / f"part-{number}.parquet")


@pytest.fixture(scope="module")
def signals() -> list[Signal]:
    return trading()


@pytest.fixture(scope="module")
def athena(signals, tmp_path_factory):
    """DuckDB over the Parquet files, the table named as in Glue; one in ten signals delivered twice."""
    root = tmp_path_factory.mktemp("export")
    write_parquet(root, signals + signals[::10])
    connection = duckdb.connect()
    for macro in TRINO_FUNCTIONS:
        connection.execute(macro)
    connection.execute(
        f"CREATE VIEW signals AS SELECT * FROM read_parquet('{root}/signals/*/*/*.parquet', hive_partitioning = true, hive_types_autocast = false)"
    )

    def query(name: str, *parameters: Any) -> list[dict[str, Any]]:
        cursor = connection.execute(named_query(name), list(parameters))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]

    return query


def named_query(name: str) -> str:
    logical = {"out_of_stock": "OutOfStock", "timer_fit": "TimerFit"}.get(name, name.capitalize())
    return load_template()["Resources"][f"{logical}Query"]["Properties"]["QueryString"]


def in_range(
    signals: list[Signal], kinds: tuple[SignalType, ...], filters: Filters = Filters()
) -> list[Signal]:
    start, end = (to_iso(moment) for moment in SPAN)
    return [s for s in signals if s.type in kinds and start <= s.at < end and filters.keep(s)]


RANGE = tuple(to_iso(moment) for moment in SPAN)


def rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: pytest.approx(value, abs=1e-4) if isinstance(value, float) else value
        for key, value in row.items()
    }


@pytest.mark.parametrize(
    "name",
    ["channels", "locations", "out_of_stock", "affinity", "timing", "timer_fit", "restocking"],
)
def test_every_named_query_is_the_file_of_analytics_sql(name):
    assert named_query(name) == (SQL / f"{name}.sql").read_text()


@pytest.mark.parametrize(("channel", "delivery"), [(None, None), ("MOBILE", None), (None, "CC")])
def test_channels_sql_agrees_with_the_table_backed_report(signals, athena, channel, delivery):
    expected = demand.channels(in_range(signals, demand.CHANNEL_TYPES, Filters(channel, delivery)))

    found = athena("channels", *RANGE, channel, delivery)

    assert len(expected) > 1 or channel or delivery
    assert found == [
        rounded({k.lower(): v for k, v in row.model_dump().items()}) for row in expected
    ]


def test_locations_and_out_of_stock_sql_agree_with_the_table_backed_report(signals, athena):
    expected = demand.locations(in_range(signals, demand.LOCATION_TYPES))

    assert athena("locations", *RANGE, None, None) == [
        rounded({k.lower(): v for k, v in r.model_dump().items()}) for r in expected.locations
    ]
    assert athena("out_of_stock", *RANGE, None, None, None) == [
        {k.lower(): v for k, v in r.model_dump().items()} for r in expected.outOfStock
    ]


@pytest.mark.parametrize("min_count", [1, 3])
def test_affinity_sql_agrees_with_the_table_backed_report(signals, athena, min_count):
    expected = demand.affinity(in_range(signals, demand.AFFINITY_TYPES), min_count, 20)

    found = athena("affinity", *RANGE, None, None, min_count, 20)

    for kind, pairs, carts in (
        ("HELD", expected.heldTogether, expected.heldCarts),
        ("ABANDONED", expected.abandonedTogether, expected.abandonedCarts),
    ):
        rows = [
            {k: row[k] for k in ("producta", "productb", "carts", "support", "lift")}
            for row in found
            if row["kind"] == kind
        ]
        assert rows == [
            rounded({k.lower(): v for k, v in pair.model_dump().items()}) for pair in pairs
        ]
        assert {row["baskets"] for row in found if row["kind"] == kind} <= {carts}
    assert (
        expected.heldTogether[0].productA == "SKU_1"
        and expected.heldTogether[0].productB == "SKU_2"
    )


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Australia/Sydney", "America/Los_Angeles"])
def test_timing_sql_agrees_with_the_table_backed_report_in_any_time_zone(signals, athena, zone):
    expected = timing_report.timing(in_range(signals, timing_report.TIMING_TYPES), zone, 45)

    slots = athena("timing", *RANGE, None, None, zone)
    fit = athena("timer_fit", *RANGE, None, None, 45)

    def busy(rows):
        return [
            {
                "slot": r.slot,
                "holds": r.holds,
                "conversions": r.conversions,
                "abandoned": r.abandoned,
            }
            for r in rows
            if r.holds or r.conversions or r.abandoned
        ]

    assert [
        {k: r[k] for k in ("slot", "holds", "conversions", "abandoned")}
        for r in slots
        if r["section"] == "HOUR"
    ] == busy(expected.byHour)
    assert [
        {k: r[k] for k in ("slot", "holds", "conversions", "abandoned")}
        for r in slots
        if r["section"] == "DAY"
    ] == busy(expected.byDayOfWeek)
    assert [(r["seconds"], r["count"]) for r in fit if r["section"] == "SECONDS"] == [
        (b.fromSeconds, b.orders) for b in expected.secondsToConvert
    ]
    assert [(r["seconds"], r["count"]) for r in fit if r["section"] == "TIMER"] == [
        (t.timerSeconds, t.heldCarts) for t in expected.timers
    ]
    assert [r["count"] for r in fit if r["section"] == "AFTER_EXPIRY"] == [
        expected.ordersAfterExpiry
    ]


@pytest.mark.parametrize(("product", "threshold"), [(None, None), (None, 1.0), ("SKU_1", 0.5)])
def test_restocking_sql_agrees_with_the_table_backed_report(signals, athena, product, threshold):
    rows = restocking.restocking(in_range(signals, restocking.RESTOCK_TYPES), *SPAN, threshold)
    expected = [row for row in rows if product is None or row.productRef == product]

    found = athena("restocking", *RANGE, None, None, product, threshold)

    assert expected
    assert found == [
        rounded({k.lower(): v for k, v in row.model_dump().items()}) for row in expected
    ]


EXPORT = {
    "SignalExportBucket",
    "SignalAnalyticsDatabase",
    "SignalAnalyticsTable",
    "SignalFirehoseRole",
    "SignalDeliveryStream",
    "SignalExportRuleRole",
    "SignalExportRule",
    "ChannelsQuery",
    "LocationsQuery",
    "OutOfStockQuery",
    "AffinityQuery",
    "TimingQuery",
    "TimerFitQuery",
    "RestockingQuery",
}


def test_the_export_path_is_off_by_default_and_all_of_it_hangs_on_its_condition():
    template = load_template()
    assert template["Parameters"]["SignalExport"]["Default"] == "disabled"
    assert template["Conditions"]["ExportSignals"] == {
        "Fn::Equals": [{"Ref": "SignalExport"}, "enabled"]
    }
    conditional = {
        name
        for name, resource in template["Resources"].items()
        if resource.get("Condition") == "ExportSignals"
    }
    assert conditional == EXPORT


def test_the_export_roles_may_only_deliver_signals():
    resources = load_template()["Resources"]
    firehose = resources["SignalFirehoseRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    actions = {action for statement in firehose for action in statement["Action"]}
    assert actions == {
        "s3:AbortMultipartUpload",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:ListBucketMultipartUploads",
        "s3:PutObject",
        "glue:GetTable",
        "glue:GetTableVersion",
        "glue:GetTableVersions",
    }
    rule = resources["SignalExportRuleRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    assert rule == [
        {
            "Effect": "Allow",
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": {"Fn::GetAtt": "SignalDeliveryStream.Arn"},
        }
    ]
    pattern = resources["SignalExportRule"]["Properties"]["EventPattern"]
    assert pattern["detail-type"] == [
        str(kind) for kind in SignalType
    ]  # signals only, not RESTOCK_SUGGESTED
