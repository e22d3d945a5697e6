"""``holdfast signals export`` and ``holdfast report funnel`` read what the demand-signals
function stored, from the table (here, moto) or from a running API."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from holdfast.domain.clock import to_iso
from holdfast_cli.main import main
from tests.signal_delivery import SignalDelivery

SKU, DC = "FLASH_SNEAKER_GOLD_US8", "MAIN_DC"


@pytest.fixture
def trading(api, clock):
    """Three carts for two units: two holds (one converts, one is abandoned), one refusal."""
    assert api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE"}}).status == 200
    assert (
        api.put(
            f"/locations/{DC}",
            {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1},
        ).status
        == 200
    )
    feed = {
        "entities": [{"productRef": SKU, "locationRef": DC, "type": "LAST_ON_HAND", "quantity": 2}]
    }
    assert api.post("/inventory/batch", feed).status == 200
    start = clock.now
    for ref in ("cart-1", "cart-2", "cart-3"):
        cart = {
            "ref": ref,
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": 1}],
        }
        assert api.post("/fulfilment-options", cart).status == 201
    clock.advance(seconds=30)
    order = {
        "ref": "ORD-1",
        "channel": "ECOMMERCE",
        "deliveryType": "HD",
        "fulfilmentOptionRef": "cart-1",
        "lines": [{"productRef": SKU, "quantity": 1}],
    }
    assert api.post("/orders", order).status == 201
    clock.advance(minutes=16)
    assert api.invoke("HoldSweeperFunction", {})["released"] == 1
    SignalDelivery(api.invoke, os.environ["TABLE_NAME"]).catch_up()
    return {
        "--from": to_iso(start - timedelta(minutes=1)),
        "--to": to_iso(clock.now + timedelta(minutes=1)),
    }


def options(window: dict[str, str], *extra: str) -> list[str]:
    return [
        *(part for pair in window.items() for part in pair),
        "--table",
        os.environ["TABLE_NAME"],
        *extra,
    ]


def test_export_writes_every_signal_as_a_json_line_oldest_first(trading, capsys):
    assert main(["signals", "export", *options(trading)]) == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(s["type"], s.get("foRef")) for s in lines] == [
        ("FO_CALL", "cart-1"),
        ("FO_CALL", "cart-2"),
        ("FO_CALL", "cart-3"),
        ("OUT_OF_STOCK", "cart-3"),
        ("CONVERSION", "cart-1"),
        ("ABANDONED", "cart-2"),
    ]


def test_export_filters_and_writes_to_a_file(trading, tmp_path, capsys):
    out = tmp_path / "signals.jsonl"

    assert (
        main(["signals", "export", *options(trading, "--type", "FO_CALL", "--out", str(out))]) == 0
    )

    assert [json.loads(line)["foRef"] for line in out.read_text().splitlines()] == [
        "cart-1",
        "cart-2",
        "cart-3",
    ]
    assert "3 signals" in capsys.readouterr().err


def test_a_long_export_is_read_in_windows_the_api_accepts(trading, clock, capsys):
    window = {"--from": to_iso(clock.now - timedelta(days=90)), "--to": trading["--to"]}

    assert main(["signals", "export", *options(window)]) == 0

    assert len(capsys.readouterr().out.splitlines()) == 6


def test_report_funnel_prints_a_table_and_json(trading, capsys):
    assert main(["report", "funnel", *options(trading)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:4] == ["SKU", "FO", "calls", "holds"]
    assert table[2].split() == [SKU, "3", "2", "1", "1", "1", "50.0%", "50.0%", "30.0", "1"]

    assert main(["report", "funnel", *options(trading, "--json")]) == 0
    (row,) = json.loads(capsys.readouterr().out)["items"]
    assert row == {
        "productRef": SKU,
        "foCalls": 3,
        "holds": 2,
        "orders": 1,
        "abandoned": 1,
        "refused": 1,
        "conversionRate": 0.5,
        "abandonmentRate": 0.5,
        "medianSecondsToConvert": 30.0,
        "outOfStock": 1,
    }


def test_report_funnel_draws_a_png(trading, tmp_path):
    chart = tmp_path / "funnel.png"

    assert main(["report", "funnel", *options(trading, "--png", str(chart))]) == 0

    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_png_is_a_clear_error(trading, tmp_path, monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)

    assert main(["report", "funnel", *options(trading, "--png", str(tmp_path / "x.png"))]) == 2
    assert "holdfast[charts]" in capsys.readouterr().err


def test_bad_ranges_and_missing_targets_exit_two(moto_table, capsys, monkeypatch):
    monkeypatch.delenv("TABLE_NAME")
    assert (
        main(
            [
                "signals",
                "export",
                "--from",
                "2026-11-27T10:00:00Z",
                "--to",
                "2026-11-27T09:00:00Z",
                "--table",
                "t",
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "report",
                "funnel",
                "--from",
                "2026-01-01T00:00:00Z",
                "--to",
                "2026-03-01T00:00:00Z",
                "--table",
                "holdfast-test",
            ]
        )
        == 2
    )
    assert main(["report", "funnel"]) == 2
    assert main(["signals", "export", "--from", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert "--to must be after --from" in err and "at most 31 days" in err and "--api-url" in err


@pytest.mark.parametrize("name", ["channels", "locations", "affinity", "timing", "restocking"])
def test_each_demand_report_prints_a_table_json_and_one_png_figure(trading, name, tmp_path, capsys):
    chart = tmp_path / f"{name}.png"

    assert main(["report", name, *options(trading, "--png", str(chart))]) == 0
    table = capsys.readouterr().out
    assert main(["report", name, *options(trading, "--json")]) == 0
    answer = json.loads(capsys.readouterr().out)

    assert table.startswith(name.capitalize()) and set(answer) >= {"from", "to"}
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_demand_reports_from_the_table_answer_what_the_cli_asks(trading, capsys):
    assert main(["report", "channels", *options(trading, "--json")]) == 0
    (row,) = json.loads(capsys.readouterr().out)["items"]
    assert (
        row["channel"],
        row["deliveryType"],
        row["heldCarts"],
        row["convertedCarts"],
        row["abandonedCarts"],
    ) == ("ECOMMERCE", "HD", 2, 1, 1)

    assert main(["report", "restocking", *options(trading, "--json", "--product-ref", SKU)]) == 0
    (row,) = json.loads(capsys.readouterr().out)["items"]
    assert (row["productRef"], row["locationRef"], row["outOfStockUnits"]) == (SKU, None, 1)

    assert main(["report", "timing", *options(trading, "--time-zone", "Mars/Olympus")]) == 2
    assert "IANA" in capsys.readouterr().err


def test_over_http_a_demand_report_is_its_route_with_the_cli_options_as_query_parameters(capsys):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qs, urlsplit

    asked: list[tuple[str, dict[str, list[str]]]] = []

    class Api(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urlsplit(self.path)
            asked.append((url.path, parse_qs(url.query)))
            body = json.dumps({"items": [], "published": 0, "from": "a", "to": "b"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = main(
            [
                "report",
                "restocking",
                "--api-url",
                f"http://127.0.0.1:{server.server_port}",
                "--json",
                "--from",
                "2026-11-27T00:00:00Z",
                "--to",
                "2026-11-28T00:00:00Z",
                "--delivery-type",
                "CC",
                "--product-ref",
                SKU,
                "--threshold",
                "2.5",
            ]
        )
    finally:
        server.shutdown()

    assert code == 0 and json.loads(capsys.readouterr().out)["published"] == 0
    ((path, query),) = asked
    assert path == "/reports/restocking"
    assert query == {
        "from": ["2026-11-27T00:00:00Z"],
        "to": ["2026-11-28T00:00:00Z"],
        "deliveryType": ["CC"],
        "productRef": [SKU],
        "threshold": ["2.5"],
    }
