"""Least privilege, proved from template.yaml: every route needs a JWT carrying its scope, each
function may make exactly the DynamoDB calls its code makes, and nothing secret is written down.

The grants below are the deliberate list: a function that starts calling something new fails
``test_each_function_is_granted_exactly_the_dynamodb_actions_it_calls`` until the template
and this list both say so."""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from holdfast.domain.clock import to_iso
from holdfast.runtime import reset_runtime
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.template import PROJECT_ROOT, functions, load_template
from tests.signal_delivery import SignalDelivery

TABLE = "InventoryTable"
EXPIRY_INDEX = f"{TABLE}/index/HoldsByExpiry"
FAILURE_QUEUE = "HoldExpiryFailureQueue"
SIGNALS_FAILURE_QUEUE = "DemandSignalsFailureQueue"
SIGNAL_BUS = "SignalEventBus"
AUTHORIZER = "HoldfastJwt"
READ, HOLDS, WRITE = "holdfast/read", "holdfast/holds", "holdfast/inventory.write"

EXPECTED_GRANTS: dict[str, dict[str, set[str]]] = {
    "AvailabilityFunction": {TABLE: {"dynamodb:BatchGetItem", "dynamodb:Query"}},
    "InventoryFeedFunction": {
        TABLE: {
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        },
    },
    "ConfigurationFunction": {  # UpdateItem: resharding a position's counter (a transaction)
        TABLE: {
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        },
    },
    "FulfilmentOptionsFunction": {
        TABLE: {
            "dynamodb:BatchGetItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        },
        EXPIRY_INDEX: {"dynamodb:Query"},  # reclaim
    },
    "GraphqlFunction": {  # the hold service's calls, and the availability reads
        TABLE: {
            "dynamodb:BatchGetItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        },
        EXPIRY_INDEX: {"dynamodb:Query"},  # reclaim
    },
    "OrdersFunction": {
        TABLE: {
            "dynamodb:BatchGetItem",
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:UpdateItem",
        },
        EXPIRY_INDEX: {"dynamodb:Query"},  # reclaim
    },
    "HoldExpiryFunction": {
        TABLE: {
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        },
        FAILURE_QUEUE: {"sqs:SendMessage"},
    },
    "HoldSweeperFunction": {
        TABLE: {"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:UpdateItem"},
        EXPIRY_INDEX: {"dynamodb:Query"},
    },
    "DemandSignalsFunction": {
        # signals; configuration (low stock); a sharded position's other shards (low stock)
        TABLE: {"dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Query"},
        SIGNALS_FAILURE_QUEUE: {"sqs:SendMessage"},
        SIGNAL_BUS: {"events:PutEvents"},
    },
    "SignalsFunction": {
        TABLE: {"dynamodb:Query"},
        SIGNAL_BUS: {"events:PutEvents"},
    },  # RESTOCK_SUGGESTED
    "RestockSuggestionsFunction": {
        TABLE: {"dynamodb:Query"},
        SIGNAL_BUS: {"events:PutEvents"},
    },  # the daily run: RESTOCK_SUGGESTED
}

TRANSACTION_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
"""A transaction is authorized per item it contains, by the single-item action's permission."""


def resources() -> dict[str, Any]:
    return load_template()["Resources"]


def policies(function: str) -> list[Any]:
    return resources()[function]["Properties"].get("Policies", [])


def statements(function: str) -> Iterator[dict[str, Any]]:
    for policy in policies(function):
        if isinstance(policy, dict) and "Statement" in policy:
            yield from policy["Statement"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resource_name(resource: Any) -> str:
    """``!GetAtt X.Arn`` → ``X``; ``!Sub "${X.Arn}/index/I"`` → ``X/index/I``; else as written."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        target = resource["Fn::GetAtt"]
        logical, attribute = target.split(".", 1) if isinstance(target, str) else target
        return logical if attribute == "Arn" else f"{logical}.{attribute}"
    if (
        isinstance(resource, dict)
        and "Fn::Sub" in resource
        and isinstance(resource["Fn::Sub"], str)
    ):
        return re.sub(r"^\$\{(\w+)\.Arn\}", r"\1", resource["Fn::Sub"])
    return json.dumps(resource)


def grants(function: str) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for statement in statements(function):
        for resource in as_list(statement["Resource"]):
            granted.setdefault(resource_name(resource), set()).update(as_list(statement["Action"]))
    return granted


def scope_for(route_key: str) -> str:
    """GETs read; stock feeds and configuration changes write inventory; the rest hold stock."""
    method, path = route_key.split(" ", 1)
    if route_key == "POST /graphql":
        raise AssertionError("GraphQL asks per operation: see scopes_for")
    if method == "GET":
        return READ
    if path == "/inventory/batch" or method == "PUT":
        return WRITE
    return HOLDS


def http_events() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, spec in functions().items():
        for event_name, event in spec.events.items():
            if event["Type"] == "HttpApi":
                yield name, event_name, event["Properties"]


# -- every route needs a JWT ----------------------------------------------------------------------


def test_the_http_api_requires_a_jwt_from_the_configured_issuer_by_default() -> None:
    auth = resources()["HttpApi"]["Properties"]["Auth"]
    authorizer = auth["Authorizers"][auth["DefaultAuthorizer"]]

    assert auth["DefaultAuthorizer"] == AUTHORIZER
    assert authorizer["IdentitySource"] == "$request.header.Authorization"
    # The stack's own user pool and clients, or the given issuer and audiences (both branches
    # rendered in test_template_production).
    assert authorizer["JwtConfiguration"] == {
        "issuer": {
            "Fn::If": [
                "CreateUserPool",
                {"Fn::Sub": "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${UserPool}"},
                {"Ref": "JwtIssuer"},
            ]
        },
        "audience": {
            "Fn::If": [
                "CreateUserPool",
                [{"Ref": "BackOfficeClient"}, {"Ref": "StorefrontClient"}],
                {"Fn::Split": [",", {"Ref": "JwtAudience"}]},
            ]
        },
    }


def test_the_issuer_and_audience_default_to_none_so_the_stack_brings_its_own() -> None:
    parameters = load_template()["Parameters"]
    for name in ("JwtIssuer", "JwtAudience"):
        assert parameters[name]["Default"] == "", name
    issuer, audience = (
        parameters["JwtIssuer"]["AllowedPattern"],
        parameters["JwtAudience"]["AllowedPattern"],
    )
    assert re.fullmatch(issuer, "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC")
    assert re.fullmatch(issuer, "") and re.fullmatch(audience, "")
    assert not re.fullmatch(issuer, "http://issuer.example")
    assert re.fullmatch(audience, "storefront,feeds")
    assert not re.fullmatch(audience, "storefront, feeds")


def test_every_route_is_on_the_authorized_api_and_none_opts_out() -> None:
    for function, event, properties in http_events():
        # Without ApiId, SAM would put the route on an implicit API that has no authorizer.
        assert properties.get("ApiId") == {"Ref": "HttpApi"}, (function, event)
        assert "Authorizer" not in (properties.get("Auth") or {}), (function, event)


def scopes_for(route_key: str) -> list[str]:
    """One scope per REST route; GraphQL lets either in and asks per operation (queries
    read, mutations hold: tests/graphql/test_graphql_errors_and_limits.py)."""
    return [READ, HOLDS] if route_key == "POST /graphql" else [scope_for(route_key)]


def test_every_route_asks_for_the_one_scope_of_its_kind() -> None:
    for function, _event, properties in http_events():
        route = f"{properties['Method'].upper()} {properties['Path']}"
        assert properties["Auth"]["AuthorizationScopes"] == scopes_for(route), (function, route)


def test_nothing_else_reaches_a_function_without_the_authorizer() -> None:
    for name, resource in resources().items():
        assert resource["Type"] not in {
            "AWS::Serverless::Api",
            "AWS::ApiGateway::RestApi",
            "AWS::ApiGatewayV2::Api",
            "AWS::ApiGatewayV2::Route",
            "AWS::Lambda::Url",
            "AWS::Lambda::Permission",
        }, name
        if resource["Type"] == "AWS::Serverless::Function":
            assert "FunctionUrlConfig" not in resource["Properties"], name
            assert {
                event["Type"] for event in resource["Properties"].get("Events", {}).values()
            } <= {"HttpApi", "DynamoDB", "ScheduleV2"}, name


# -- least privilege -------------------------------------------------------------------------------


def test_no_function_has_a_broad_policy_or_its_own_role() -> None:
    assert "Policies" not in load_template()["Globals"]["Function"]
    assert "Role" not in load_template()["Globals"]["Function"]
    for function in EXPECTED_GRANTS:
        assert "Role" not in resources()[function]["Properties"], function
        for policy in policies(function):
            # Only inline statements: no SAM policy template (DynamoDBCrudPolicy …), no managed policy.
            assert isinstance(policy, dict) and set(policy) == {"Version", "Statement"}, (
                function,
                policy,
            )
            assert not re.search(r"Crud|FullAccess", json.dumps(policy)), function


def test_every_statement_names_its_actions_and_resources() -> None:
    for function in EXPECTED_GRANTS:
        for statement in statements(function):
            assert statement["Effect"] == "Allow", function
            assert set(statement) == {"Effect", "Action", "Resource"}, (
                function
            )  # no NotAction / NotResource
            for action in as_list(statement["Action"]):
                assert "*" not in action, (function, action)
            for resource in as_list(statement["Resource"]):
                assert resource != "*" and "*" not in json.dumps(resource), (function, resource)


def test_each_function_is_granted_the_expected_actions_and_no_more() -> None:
    assert set(functions()) == set(EXPECTED_GRANTS)
    for function, expected in EXPECTED_GRANTS.items():
        assert grants(function) == expected, function


def test_only_the_functions_that_release_overdue_holds_read_the_expiry_index() -> None:
    # The sweeper, and a hold or order that finds no stock (reclaim); nothing reads other indexes.
    readers = {
        function
        for function in EXPECTED_GRANTS
        if any("/index/" in name for name in grants(function))
    }
    assert readers == {
        "HoldSweeperFunction",
        "FulfilmentOptionsFunction",
        "OrdersFunction",
        "GraphqlFunction",
    }
    for function in readers:
        assert grants(function)[EXPIRY_INDEX] == {"dynamodb:Query"}


# -- what the code really calls --------------------------------------------------------------------


class AttributedApi(LocalApi):
    """The local API, remembering which function is running while it makes each call."""

    def __init__(self) -> None:
        super().__init__()
        self.function: str | None = None

    def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        self.function = function_name
        try:
            return super().invoke(function_name, event)
        finally:
            self.function = None


def required_permissions(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(resource, IAM action) pairs a DynamoDB call needs, transactions item by item."""
    if operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            (kind,) = item
            yield TABLE, TRANSACTION_ITEM_ACTIONS[kind]
    elif operation == "TransactGetItems":
        for _ in params["TransactItems"]:
            yield TABLE, "dynamodb:GetItem"
    elif "IndexName" in params:
        yield f"{TABLE}/index/{params['IndexName']}", f"dynamodb:{operation}"
    else:
        yield TABLE, f"dynamodb:{operation}"


@pytest.fixture
def recorded(moto_table, clock, monkeypatch):
    """Every DynamoDB call the functions make, as (function, resource, action). Configuration
    is never served from cache, so every function that reads it is seen reading it."""
    monkeypatch.setenv("CONFIG_CACHE_SECONDS", "0")
    monkeypatch.setenv("RESTOCK_THRESHOLD", "1000")  # the daily restocking run reads signals
    api = AttributedApi()
    calls: set[tuple[str, str, str]] = set()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        if api.function is not None:
            for resource, action in required_permissions(model.name, params):
                calls.add((api.function, resource, action))

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    session.events.register("before-parameter-build.dynamodb", record)
    reset_runtime()  # the runtime's client is created from the session, with the hook
    try:
        yield api, calls
    finally:
        session.events.unregister("before-parameter-build.dynamodb", record)


SKU, DC = "ACME_SNEAKER_BLK_US9", "MAIN_DC"


def hold(api: LocalApi, ref: str, quantity: int, **extra: Any):
    return api.post(
        "/fulfilment-options",
        {
            "ref": ref,
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": quantity}],
            **extra,
        },
    )


def order(api: LocalApi, ref: str, quantity: int, **extra: Any):
    return api.post(
        "/orders",
        {
            "ref": ref,
            "channel": "ECOMMERCE",
            "deliveryType": "HD",
            "lines": [{"productRef": SKU, "quantity": quantity}],
            **extra,
        },
    )


def available(api: LocalApi) -> int:
    response = api.get(
        "/virtual-positions", query={"channel": "ECOMMERCE", "productRef": SKU, "type": "AGGREGATE"}
    )
    return response.json()["items"][0]["quantity"]


def timer_deleted_by_ttl(fo_ref: str) -> dict[str, Any]:
    """The sample stream event, for this hold's timer."""
    event = json.loads(
        (PROJECT_ROOT / "events/hold_expiry/expire-hold-timer.json").read_text(encoding="utf-8")
    )
    record = copy.deepcopy(event["Records"][0])
    record["dynamodb"]["Keys"]["pk"]["S"] = record["dynamodb"]["OldImage"]["pk"]["S"] = (
        f"FO#{fo_ref}"
    )
    record["dynamodb"]["OldImage"]["foRef"]["S"] = fo_ref
    return {"Records": [record]}


def exercise_every_path(api: LocalApi, clock) -> None:
    """Each route, trigger and branch that reaches the table a different way."""
    ok = {200, 201}
    assert api.put("/channels/ECOMMERCE", {"buffer": {"type": "NONE"}}).status == 200
    location = {"type": "DC", "deliveryTypes": ["HD"], "channels": ["ECOMMERCE"], "priority": 1}
    assert api.put(f"/locations/{DC}", location).status == 200
    assert api.put(f"/products/{SKU}", {"category": "SNEAKERS"}).status == 200
    assert api.put("/timers", {"globalMinutes": 15}).status == 200
    for path in ("/channels/ECOMMERCE", f"/locations/{DC}", f"/products/{SKU}", "/timers"):
        assert api.get(path).status == 200, path

    def at(minutes_ago: int) -> str:
        return to_iso(clock.now - timedelta(minutes=minutes_ago))

    def entity(kind: str, quantity: int, **extra: Any) -> dict[str, Any]:
        return {"productRef": SKU, "locationRef": DC, "type": kind, "quantity": quantity, **extra}

    statuses = [
        r["status"]
        for r in api.post(
            "/inventory/batch",
            {
                "entities": [
                    entity("LAST_ON_HAND", 10, asOf=at(60)),
                    entity(
                        "DELTA", 2, sourceRef="RCPT-1", asOf=at(45)
                    ),  # superseded by the next count
                    entity("DELTA", 5, sourceRef="RCPT-2"),
                    entity("DELTA", 5, sourceRef="RCPT-2"),  # a replay
                    entity("LAST_ON_HAND", 12, asOf=at(30)),
                    entity("DELTA", 1, sourceRef="RCPT-3", asOf=at(90)),  # older than the count
                ]
            },
        ).json()["results"]
    ]
    assert statuses == ["APPLIED", "APPLIED", "APPLIED", "UNCHANGED", "APPLIED", "STALE"]
    assert api.get(f"/inventory-positions/{SKU}:{DC}:DEFAULT").json()["onHand"] == 17
    assert available(api) == 17

    assert hold(api, "cart-1", 1).status == 201
    assert hold(api, "cart-1", 1).status == 200  # a retry
    assert hold(api, "cart-2", 2, replaces="cart-1").status == 201
    assert api.post("/fulfilment-options/cart-2/extend").status == 200
    assert api.get("/fulfilment-options/cart-2").status == 200
    assert api.delete("/fulfilment-options/cart-2").status == 200

    assert hold(api, "cart-3", 2).status == 201
    assert order(api, "ORD-1", 2, fulfilmentOptionRef="cart-3").json()["convertedFromHold"] is True
    assert api.post("/orders/ORD-1/ship").status == 200
    assert api.post("/orders/ORD-1/return").status == 200
    assert order(api, "ORD-2", 1).status == 201  # afresh
    assert order(api, "ORD-2", 1).status == 200  # a retry
    assert api.post("/orders/ORD-2/cancel").status == 200
    assert api.get("/orders/ORD-1").status == 200

    assert hold(api, "cart-4", 1).status == 201  # released by the stream
    assert hold(api, "cart-5", 1).status == 201  # released by the sweeper
    clock.advance(minutes=16)
    assert hold(api, "cart-6", 1).status == 201  # not due: its timer is put back
    assert api.invoke("HoldExpiryFunction", timer_deleted_by_ttl("cart-4")) == {
        "batchItemFailures": []
    }
    assert api.invoke("HoldExpiryFunction", timer_deleted_by_ttl("cart-6")) == {
        "batchItemFailures": []
    }
    assert api.invoke("HoldSweeperFunction", {})["released"] >= 1

    assert hold(api, "cart-7", available(api)).status == 201  # all of it
    clock.advance(minutes=16)
    assert hold(api, "cart-8", 1).json()["status"] == "ACTIVE"  # reclaimed from expired holds
    assert hold(api, "cart-9", available(api)).status == 201
    clock.advance(minutes=16)
    assert order(api, "ORD-3", 1).status in ok  # reclaimed from expired holds

    exercise_graphql(api, clock)

    sharded = {"category": "SNEAKERS", "counterShards": {DC: 2}}
    assert api.put(f"/products/{SKU}", sharded).status == 200  # reshard: a transaction
    assert (
        api.post("/inventory/batch", {"entities": [entity("DELTA", -1, sourceRef="TILL-1")]}).status
        == 200
    )
    threshold = available(api) - 1
    assert (
        api.put(
            "/channels/ECOMMERCE", {"buffer": {"type": "NONE"}, "lowStockThreshold": threshold}
        ).status
        == 200
    )
    assert (
        hold(api, "cart-10", 1).status == 201
    )  # a low-stock crossing: the consumer reads configuration
    SignalDelivery(
        api.invoke, os.environ["TABLE_NAME"]
    ).catch_up()  # every change so far, as signals
    assert api.get("/signals", query={"limit": 3}).status == 200
    assert api.get("/signals", query={"productRef": SKU, "type": "LOW_STOCK"}).json()["items"]
    assert api.get("/reports/funnel").json()["items"]
    daily = api.invoke("RestockSuggestionsFunction", {"scheduledTime": to_iso(clock.now)})
    assert (daily["threshold"], daily["published"]) == (1000, 0)


def graphql(api: LocalApi, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post("/graphql", {"query": query, "variables": variables})
    assert response.status == 200 and "errors" not in response.json(), response.body
    return response.json()["data"]


def exercise_graphql(api: LocalApi, clock) -> None:
    """The GraphQL function's paths: reads, a hold, its retry, a cancel, a reclaim."""
    create = """mutation ($input: CreateFulfilmentOptionInput) {
      createFulfilmentOption(input: $input) { id status } }"""

    def cart(ref: str, quantity: int) -> dict[str, Any]:
        products = [{"productRef": SKU, "requestedQuantity": quantity}]
        return {
            "input": {
                "ref": ref,
                "type": "HD",
                "retailerId": 1,
                "products": products,
                "attributes": [{"name": "channel", "type": "STRING", "value": "ECOMMERCE"}],
            }
        }

    graphql(
        api,
        f'{{ virtualPositions(catalogue: {{ref: "ECOMMERCE"}}, productRef: "{SKU}") {{ edges {{ node {{ quantity }} }} }} }}',
    )
    graphql(
        api,
        f'{{ inventoryPosition(catalogue: {{ref: "DEFAULT:1"}}, ref: "{SKU}:{DC}:DEFAULT") {{ onHand }} }}',
    )
    held = graphql(api, create, cart("gql-cart-1", 1))["createFulfilmentOption"]
    assert graphql(api, create, cart("gql-cart-1", 1))["createFulfilmentOption"] == held  # a retry
    cancel = """mutation ($id: ID!) { updateFulfilmentOption(input: {id: $id, status: "CANCELLED"}) { status } }"""
    assert (
        graphql(api, cancel, {"id": held["id"]})["updateFulfilmentOption"]["status"] == "CANCELLED"
    )
    assert (
        graphql(api, create, cart("gql-cart-2", available(api)))["createFulfilmentOption"]["status"]
        == "ACTIVE"
    )
    clock.advance(minutes=16)
    assert (
        graphql(api, create, cart("gql-cart-3", 1))["createFulfilmentOption"]["status"] == "ACTIVE"
    )  # reclaimed


def test_each_function_is_granted_exactly_the_dynamodb_actions_it_calls(recorded, clock) -> None:
    api, calls = recorded
    exercise_every_path(api, clock)

    called: dict[str, dict[str, set[str]]] = {function: {} for function in EXPECTED_GRANTS}
    for function, resource, action in calls:
        called[function].setdefault(resource, set()).add(action)
    granted: dict[str, dict[str, set[str]]] = {function: {} for function in EXPECTED_GRANTS}
    for function in EXPECTED_GRANTS:
        for resource, actions in grants(function).items():
            if any(action.startswith("dynamodb:") for action in actions):
                granted[function][resource] = {
                    action for action in actions if action.startswith("dynamodb:")
                }
    assert called == granted


# -- nothing secret is written down ----------------------------------------------------------------

SCANNED = [
    PROJECT_ROOT / "template.yaml",
    *(PROJECT_ROOT / d for d in ("events", "layers", "functions", "cli")),
]
ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")
LOCAL_ACCOUNT = "000000000000"
"""What the local API and scheduler put in ARNs: no AWS account has it."""
EXAMPLE_ACCOUNT = "123456789012"
"""AWS's documentation placeholder, which the sample events use."""
SECRETS = {
    "an AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "an AWS secret access key": re.compile(
        r"(?i)aws_?secret_?access_?key\W{1,4}[A-Za-z0-9/+=]{40}\b"
    ),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\."),
    "an assigned secret": re.compile(
        r"""(?i)(?:password|passwd|secret|api_?key|client_?secret|token)\w*["']?\s*[:=]\s*["']([^"'\s]{8,})["']"""
    ),
}
SELF_DECLARED_DUMMY = re.compile(r"(?i)fake|dummy|example|placeholder|testing")


def scanned_files() -> Iterator[Path]:
    for root in SCANNED:
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                yield path


def test_no_account_id_is_hard_coded() -> None:
    found = []
    for path in scanned_files():
        allowed = (
            {LOCAL_ACCOUNT, EXAMPLE_ACCOUNT}
            if path.is_relative_to(PROJECT_ROOT / "events")
            else {LOCAL_ACCOUNT}
        )
        for number in ACCOUNT_ID.findall(path.read_text(encoding="utf-8")):
            if number not in allowed:
                found.append(f"{path.relative_to(PROJECT_ROOT)}: {number}")
    assert found == []


def test_the_template_builds_every_arn_from_its_resources() -> None:
    assert "arn:aws" not in (PROJECT_ROOT / "template.yaml").read_text(encoding="utf-8")


def test_nothing_secret_looking_is_written_down() -> None:
    found = []
    for path in scanned_files():
        text = path.read_text(encoding="utf-8")
        for kind, pattern in SECRETS.items():
            for match in pattern.finditer(text):
                if not SELF_DECLARED_DUMMY.search(match.group(0)):
                    found.append(f"{path.relative_to(PROJECT_ROOT)}: {kind}")
    assert found == []


def test_the_scan_recognises_what_it_looks_for() -> None:
    assert SECRETS["an AWS access key id"].search("key = 'AKIAIOSFODNN7EXAMPL3'")
    assert SECRETS["an assigned secret"].search('CLIENT_SECRET = "s3cr3tvalue99"')
    assert SECRETS["a JWT"].search("Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig")
    assert not SECRETS["an assigned secret"].search(
        '"description": "the token lacks the route scope"'
    )
    assert ACCOUNT_ID.search("arn:aws:iam::210987654321:role/x")
    assert not ACCOUNT_ID.search('"timeEpoch": 1710489600000')
