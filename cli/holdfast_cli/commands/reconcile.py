"""``holdfast reconcile``: prove every Inventory Position's onHand counter equals the sum of
its ACTIVE ledger (docs/behaviour.md §2).

Exit codes: 0 clean, 1 drift found, 2 usage or connection error. It scans the whole table,
so run it offline or on a quiet table: a feed applied during the scan can show as drift.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from pydantic import ValidationError

from holdfast_cli.console import console_for, is_terminal, print_table, verdict
from holdfast_cli.local.aws_credentials import dynamodb_client

DESCRIPTION = (
    "Check that every inventory position's onHand counter equals the sum of its ACTIVE ledger. "
    "Exit code 0 when clean, 1 when a position drifts, 2 on a usage or connection error."
)
EXIT_CLEAN = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
        help="DynamoDB endpoint, e.g. DynamoDB Local (default: $DYNAMODB_ENDPOINT_URL, else AWS)",
    )
    parser.add_argument(
        "--table",
        default=os.environ.get("TABLE_NAME") or None,
        help="table name (default: $TABLE_NAME)",
    )
    parser.add_argument(
        "--region", help="AWS region (default: the environment's; us-east-1 for a local endpoint)"
    )
    parser.add_argument(
        "--json", action="store_true", help='print one JSON object {"checked": N, "drift": [...]}'
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from holdfast.runtime import build_runtime
    from holdfast.settings import Settings

    if not args.table:
        return _fail("name the table with --table or $TABLE_NAME")
    try:
        settings = Settings(table_name=args.table, dynamodb_endpoint_url=args.endpoint_url)
    except ValidationError as error:
        return _fail(f"invalid settings: {error.errors()[0]['msg']}")
    try:
        client = dynamodb_client(args.endpoint_url, args.region)
        inventory = build_runtime(settings, client=client).inventory
        if is_terminal(sys.stderr) and not args.json:
            with console_for(sys.stderr).status(f"scanning {args.table} ..."):
                checked, drift = inventory.reconcile()
        else:
            checked, drift = inventory.reconcile()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            return _fail(f"table {args.table!r} does not exist at {args.endpoint_url or 'AWS'}")
        return _fail(f"DynamoDB refused the scan: {error}")
    except BotoCoreError as error:
        return _fail(f"cannot reach DynamoDB at {args.endpoint_url or 'AWS'}: {error}")

    _print(checked, drift, as_json=args.json)
    return EXIT_DRIFT if drift else EXIT_CLEAN


def _print(checked: int, drift: list[Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"checked": checked, "drift": [_drift_json(d) for d in drift]}))
        return
    if drift:
        print_table(
            sys.stdout,
            title="Drifting positions",
            columns=("position", "counter", "ledger sum", "off by"),
            rows=[_drift_row(d) for d in drift],
            plain="\n".join(_drift_line(d) for d in drift),
        )
    verdict(sys.stdout, f"checked {checked} positions, {len(drift)} drifting", ok=not drift)


def _drift_json(drift: Any) -> dict[str, Any]:
    return {
        "positionRef": drift.position_ref,
        "counter": drift.counter,
        "ledgerSum": drift.ledger_sum,
    }


def _drift_row(drift: Any) -> tuple[str, str, int, str]:
    if drift.counter is None:
        return (drift.position_ref, "no item", drift.ledger_sum, "-")
    return (
        drift.position_ref,
        str(drift.counter),
        drift.ledger_sum,
        f"{drift.counter - drift.ledger_sum:+d}",
    )


def _drift_line(drift: Any) -> str:
    if drift.counter is None:
        return f"DRIFT {drift.position_ref}: no position item, ledger sum {drift.ledger_sum}"
    return (
        f"DRIFT {drift.position_ref}: counter {drift.counter}, ledger sum {drift.ledger_sum} "
        f"(off by {drift.counter - drift.ledger_sum:+d})"
    )


def _fail(message: str) -> int:
    print(f"holdfast reconcile: {message}", file=sys.stderr)
    return EXIT_ERROR
