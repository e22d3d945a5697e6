"""The human-readable form of a bench report: a few aligned tables."""

from __future__ import annotations

from typing import Any


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        lines.append(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 or not _numeric(c) else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=False))
            ).rstrip()
        )
        if index == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).isdigit()


def render(report: dict[str, Any]) -> str:
    meta = report["meta"]
    engine = meta.get("engine", {})
    lines = [
        f"Holdfast bench — engine {engine.get('name', '-')} {engine.get('version') or ''}".rstrip()
        + f", samples {meta['samples']}, concurrency {meta['concurrency']}, "
        f"{meta['cpus']} CPUs, load {meta.get('load_average_at_start')} → {meta.get('load_average_at_end')}, "
        f"{meta['duration_s']} s",
    ]
    if engine.get("note"):
        lines.append(f"  {engine['note']}")

    overheads = [
        k
        for k in (
            "fo_create_overhead",
            "graphql_fo_create_overhead",
            "order_confirm_overhead",
            "vp_read_overhead",
        )
        if k in report
    ]
    if overheads:
        lines += [
            "",
            "Overhead: median request latency ÷ median latency of the bare DynamoDB call it makes (interleaved)",
        ]
        rows = []
        for name in overheads:
            r = report[name]
            rows.append(
                [
                    name,
                    r["ratio"],
                    r["paired_ratio_median"],
                    r["request_median_ms"],
                    r["bare_median_ms"],
                    r.get("request_cpu_ms"),
                    r.get("bare_cpu_ms"),
                    r.get("cpu_ratio"),
                    r["samples"],
                    r["bare_call"],
                ]
            )
        lines += _table(
            [
                "measure",
                "ratio",
                "paired",
                "request ms",
                "bare ms",
                "request CPU ms",
                "bare CPU ms",
                "CPU ratio",
                "n",
                "bare call",
            ],
            rows,
        )
        if "handler_cpu_ms_per_hold" in report:
            lines.append(
                f"  handler_cpu_ms_per_hold {report['handler_cpu_ms_per_hold']}, bare_cpu_ms_per_call "
                f"{report['bare_cpu_ms_per_call']}: {report['handler_cpu_ratio']}x (this process's CPU, mean)"
            )
        replayed = [name for name in overheads if "calls_ratio" in report[name]]
        if replayed:
            lines += ["", "Against every call the request made, replayed bare in the same order"]
            lines += _table(
                ["measure", "ratio", "calls ms", "calls CPU ms", "CPU ratio", "calls"],
                [
                    [
                        name,
                        report[name]["calls_ratio"],
                        report[name]["calls_median_ms"],
                        report[name]["calls_cpu_ms"],
                        report[name]["calls_cpu_ratio"],
                        " + ".join(report[name]["calls_replayed"]),
                    ]
                    for name in replayed
                ],
            )

    if "calls_per_op" in report:
        wcu, rcu = report.get("wcu_per_op", {}), report.get("rcu_per_op", {})
        lines += [
            "",
            "DynamoDB calls and capacity per operation (warm; modeled units are the ones priced)",
        ]
        rows = []
        for op, entry in report["calls_per_op"].items():
            target = (
                f"≤ {entry['target']} {'pass' if entry['pass'] else 'FAIL'}"
                if "target" in entry
                else ""
            )
            calls = ", ".join(f"{k} {v}" for k, v in entry["by_operation"].items())
            rows.append(
                [
                    op,
                    entry["calls"],
                    target,
                    calls,
                    wcu.get(op, {}).get("modeled"),
                    wcu.get(op, {}).get("engine_reported"),
                    rcu.get(op, {}).get("modeled"),
                    rcu.get(op, {}).get("engine_reported"),
                ]
            )
        lines += _table(
            ["operation", "calls", "target", "by API", "WCU", "WCU engine", "RCU", "RCU engine"],
            rows,
        )
        extra = report["calls_per_op"].get("config_put", {}).get("next_request_extra_calls")
        if extra:
            lines.append(
                f"  config_put drops the writer's cache: its next request makes {extra} more call(s)"
            )
        ledger = report["calls_per_op"].get("ip_read", {}).get("ledger_items")
        if ledger is not None:
            lines.append(f"  ip_read read a position with {ledger} ledger entries")

    if "cost_per_million_fo_calls_usd" in report:
        cost = report["cost_per_million_fo_calls_usd"]
        lines += ["", "DynamoDB cost per million one-line holds, over a hold's whole life"]
        rows = [
            [
                life,
                " + ".join(v["steps"]),
                v["write_request_units"],
                v["read_request_units"],
                f"${v['usd']:.2f}",
            ]
            for life, v in cost.items()
            if isinstance(v, dict) and "steps" in v
        ]
        lines += _table(["life", "steps", "WRU", "RRU", "USD / million"], rows)
        lines.append(f"  {cost['prices_note']}")

    if "cold_import_ratio" in report:
        cold = report["cold_import_ratio"]
        lines += [
            "",
            f"Cold import: best of {cold['rounds']} fresh interpreters ÷ best baseline "
            f"({cold['baseline_best_ms']} ms: {cold['baseline']}); target ≤ {cold['target']}",
        ]
        rows = []
        for path, h in cold["handlers"].items():
            adds = h.get("adds", {}).get("self_ms_by_package", {})
            top = ", ".join(f"{k} {v} ms" for k, v in list(adds.items())[:4])
            own = h.get("ratio_over_graphql_floor", "")
            rows.append([path, h["best_ms"], h["ratio"], own, h["pass"], top])
        lines += _table(
            ["handler", "best ms", "ratio", "÷ GraphQL floor", "", "adds most (self time)"], rows
        )
        if "tracer_import_ms" in cold:
            lines.append(
                f"  tracing on adds {cold['tracer_import_ms']} ms (Powertools Tracer and the "
                f"X-Ray SDK), {cold['tracer_share_of_floor']} of the floor"
            )

    if "load_by_workers" in report:
        from bench.load_workers import render as render_load

        lines += [
            "",
            "Load run of holdfast dev --workers N (30 clients) beside the engine's ceiling (bare calls, N in flight)",
        ]
        load = report["load_by_workers"]
        lines += (
            [f"  skipped: {load['skipped']}"]
            if "skipped" in load
            else ["  " + line for line in render_load(load).splitlines()]
        )

    if "flash_sale_throughput_ratio" in report:
        flash = report["flash_sale_throughput_ratio"]
        lines += [
            "",
            "Flash sale: holds/s of one hot SKU ÷ conditional UpdateItem/s on one item, same concurrency",
        ]
        if "skipped" in flash:
            lines.append(f"  skipped: {flash['skipped']}")
        else:
            lines += _table(
                [
                    "ratio",
                    "holds/s",
                    "updates/s",
                    "concurrency",
                    "rounds",
                    "holds per round",
                    "updates per round",
                    "counter ok",
                ],
                [
                    [
                        flash["ratio"],
                        flash["holds_per_s"],
                        flash["conditional_updates_per_s"],
                        flash["concurrency"],
                        flash["rounds"],
                        " ".join(map(str, flash["per_round"]["holds"])),
                        " ".join(map(str, flash["per_round"]["conditional_updates"])),
                        flash["counter_matches_holds"],
                    ]
                ],
            )
            if "sharded_holds_per_s" in flash:
                lines.append(
                    f"  with {flash['shards']} counter shards: {flash['sharded_holds_per_s']:g} holds/s "
                    f"(ratio {flash['sharded_ratio']:g}), counter ok {flash['sharded_counter_matches_holds']}"
                )
    if "hot_item_writes" in report:
        hot = report["hot_item_writes"]
        if "skipped" not in hot:
            lines += ["", "Hot items during the flash sale (writes per item key)"]
            rows = [
                [
                    side,
                    h["item_writes"],
                    h["distinct_items"],
                    h["hottest_item"],
                    h["hottest_item_share"],
                    h["hottest_item_writes_per_s"],
                    h["hottest_item_writes_per_operation"],
                    h["hottest_partition_share"],
                ]
                for side, h in hot.items()
                if isinstance(h, dict) and "item_writes" in h
            ]
            lines += _table(
                [
                    "side",
                    "item writes",
                    "items",
                    "hottest item",
                    "share",
                    "its writes/s",
                    "per op",
                    "partition share",
                ],
                rows,
            )
            if "hottest_item_reduction" in hot:
                lines.append(
                    f"  sharded counters cut the hottest item's writes per hold {hot['hottest_item_reduction']:g}-fold"
                )
            ledger = hot.get("hot_position_after_sale")
            if ledger:
                lines.append(
                    f"  after the sale, reading the hot position's ledger ({ledger['ledger_entries']} entries) takes "
                    f"{ledger['query_pages']} Query page(s), {ledger['modeled_rcu']:g} RCU"
                )

    if report.get("targets"):
        lines += ["", "Targets"]
        lines += [
            f"  {'pass' if t['pass'] else 'FAIL'}  {t['name']} = {t['value']} (≤ {t['limit']})"
            for t in report["targets"]
        ]
    if report.get("notes"):
        lines += ["", "Notes"] + [f"  - {note}" for note in report["notes"]]
    if report.get("errors"):
        lines += ["", "Errors"] + [f"  {name}: {error}" for name, error in report["errors"].items()]
    return "\n".join(lines) + "\n"
