"""The schema a storefront sees is Fluent's: every operation, argument, type, field and
nullability below is written out from Fluent's published schema (docs/graphql.md cites it),
and compared with what ``POST /graphql`` answers to an introspection query."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from graphql import get_introspection_query
from moto import mock_aws

from holdfast.graphql.schema import sdl
from holdfast.runtime import reset_runtime
from holdfast_cli.local.api import LocalApi
from holdfast_cli.local.template import PROJECT_ROOT, create_table
from holdfast_cli.main import main
from tests.graphql.storefront import data, graphql

PAGING = "first:Int last:Int before:String after:String"
WORKFLOW = "workflowRef:[String!] workflowVersion:[Int!]"
DATES = "createdOn:DateRange updatedOn:DateRange"
IQ_FILTERS = (
    f"ref:[String!] type:[String!] status:[String] quantity:[Int] condition:[String] storageAreaRef:[String] "
    f"catalogue:InventoryCatalogueKey expectedOn:DateRange {DATES} {WORKFLOW} {PAGING}"
)
ORCHESTRATED = "id:ID! ref:String! type:String! status:String workflowRef:String! workflowVersion:Int! createdOn:DateTime updatedOn:DateTime attributes:[Attribute]"

OPERATIONS = {
    "Query.virtualPositions": (
        "VirtualPositionConnection",
        f"ref:[String!] type:[String!] status:[String] productRef:[String] groupRef:[String] quantity:[Int] "
        f"catalogue:VirtualCatalogueKey {DATES} {WORKFLOW} {PAGING}",
    ),
    "Query.virtualPosition": ("VirtualPosition", "catalogue:VirtualCatalogueKey! ref:String!"),
    "Query.fulfilmentOptionById": ("FulfilmentOption", "id:ID!"),
    "Query.fulfilmentOptions": (
        "FulfilmentOptionConnection",
        f"ref:[String] type:[String!] status:[String] orderType:[String] locationRef:[String] trackingCode:[String] "
        f"retailerId:[Int!] {DATES} {WORKFLOW} {PAGING}",
    ),
    "Query.inventoryPosition": (
        "InventoryPosition",
        "catalogue:InventoryCatalogueKey! ref:String!",
    ),
    "Query.inventoryPositions": (
        "InventoryPositionConnection",
        f"ref:[String!] type:[String!] status:[String] productRef:[String!] locationRef:[String] onHand:[Int] "
        f"catalogue:InventoryCatalogueKey {DATES} {WORKFLOW} {PAGING}",
    ),
    "Query.inventoryQuantities": ("InventoryQuantityConnection", IQ_FILTERS),
    "Mutation.createFulfilmentOption": (
        "FulfilmentOption",
        "input:CreateFulfilmentOptionInput executionMode:ExecutionMode",
    ),
    "Mutation.updateFulfilmentOption": ("FulfilmentOption", "input:UpdateFulfilmentOptionInput"),
    "FulfilmentOption.plans": (
        "FulfilmentPlanConnection",
        f"ref:[String] type:[String!] status:[String] eta:[String] splitCount:[Int] retailerId:[Int] {DATES} {WORKFLOW} {PAGING}",
    ),
    "InventoryPosition.quantities": ("InventoryQuantityConnection", IQ_FILTERS),
}

OBJECTS = {
    "PageInfo": "hasNextPage:Boolean hasPreviousPage:Boolean",
    "Attribute": "name:String! type:String! value:Json!",
    "VirtualPosition": f"{ORCHESTRATED} productRef:String groupRef:String quantity:Int catalogue:VirtualCatalogue",
    "FulfilmentOption": (
        "id:ID! ref:String type:String! status:String retailerId:Int! workflowRef:String! workflowVersion:Int! "
        "createdOn:DateTime updatedOn:DateTime orderType:String locationRef:String trackingCode:String "
        "address:FulfilmentOptionAddress products:[FulfilmentOptionProduct] attributes:[Attribute] plans:FulfilmentPlanConnection"
    ),
    "FulfilmentOptionProduct": "productRef:String! requestedQuantity:Int! catalogueRef:String",
    "FulfilmentOptionAddress": (
        "name:String companyName:String addressLine1:String addressLine2:String city:String state:String "
        "postcode:String country:String latitude:Float longitude:Float"
    ),
    "FulfilmentPlan": (
        "id:ID! ref:String type:String! status:String workflowRef:String! workflowVersion:Int! createdOn:DateTime "
        "updatedOn:DateTime splitCount:Int eta:String retailerId:Int attributes:[Attribute] "
        "fulfilmentOption:FulfilmentOption fulfilments:[FulfilmentPlanFulfilment] exceptions:[FulfilmentPlanException]"
    ),
    "FulfilmentPlanFulfilment": "locationRef:String fulfilmentType:String eta:String items:[FulfilmentPlanFulfilmentItem]",
    "FulfilmentPlanFulfilmentItem": "productRef:String! catalogueRef:String availableQuantity:Int! requestedQuantity:Int!",
    "FulfilmentPlanException": "code:String message:String attributes:[Attribute]",
    "InventoryPosition": (
        f"{ORCHESTRATED} catalogue:InventoryCatalogue productRef:String! locationRef:String onHand:Int "
        "quantities:InventoryQuantityConnection"
    ),
    "InventoryQuantity": (
        f"{ORCHESTRATED} catalogue:InventoryCatalogue position:InventoryPosition quantity:Int condition:String "
        "expectedOn:DateTime storageAreaRef:String"
    ),
}
CONNECTIONS = [
    "VirtualPosition",
    "FulfilmentOption",
    "FulfilmentPlan",
    "InventoryPosition",
    "InventoryQuantity",
]
for _node in CONNECTIONS:
    OBJECTS[f"{_node}Edge"] = f"cursor:String node:{_node}"
    OBJECTS[f"{_node}Connection"] = f"edges:[{_node}Edge] pageInfo:PageInfo"

INPUTS = {
    "CreateFulfilmentOptionInput": (
        "ref:String! type:String! retailerId:Int! orderType:String locationRef:String trackingCode:String "
        "address:CreateFulfilmentOptionAddressInput products:[CreateFulfilmentOptionProductInput] attributes:[AttributeInput]"
    ),
    "CreateFulfilmentOptionProductInput": "productRef:String! requestedQuantity:Int catalogueRef:String",
    "CreateFulfilmentOptionAddressInput": OBJECTS["FulfilmentOptionAddress"],
    "UpdateFulfilmentOptionInput": "id:ID! ref:String status:String trackingCode:String attributes:[AttributeInput]",
    "AttributeInput": "name:String! type:String! value:Json!",
    "VirtualCatalogueKey": "ref:String!",
    "InventoryCatalogueKey": "ref:String!",
    "DateRange": "from:DateTime to:DateTime",
}


def table(text: str) -> dict[str, str]:
    return dict(pair.split(":", 1) for pair in text.split())


def type_name(ref: dict[str, Any]) -> str:
    if ref["kind"] == "NON_NULL":
        return type_name(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{type_name(ref['ofType'])}]"
    return ref["name"]


@pytest.fixture(scope="module")
def introspected(moto_module_api) -> dict[str, dict[str, Any]]:
    schema = data(graphql(moto_module_api, get_introspection_query()))["__schema"]
    return {t["name"]: t for t in schema["types"]}


@pytest.fixture(scope="module")
def moto_module_api():
    """One table for the module: introspection reads nothing from it."""
    with mock_aws():
        create_table(boto3.client("dynamodb"), os.environ["TABLE_NAME"])
        reset_runtime()
        yield LocalApi()
    reset_runtime()


def test_every_operation_has_fluents_arguments_and_return_type(introspected) -> None:
    for name, (returns, arguments) in OPERATIONS.items():
        owner, field_name = name.split(".")
        field = {f["name"]: f for f in introspected[owner]["fields"]}[field_name]
        assert type_name(field["type"]) == returns, name
        assert {a["name"]: type_name(a["type"]) for a in field["args"]} == table(arguments), name


def test_the_schema_has_exactly_fluents_operations(introspected) -> None:
    for owner in ("Query", "Mutation"):
        found = {f"{owner}.{f['name']}" for f in introspected[owner]["fields"]}
        assert found == {name for name in OPERATIONS if name.startswith(f"{owner}.")}


def test_every_object_type_has_fluents_fields_and_nullability(introspected) -> None:
    for name, fields in OBJECTS.items():
        assert introspected[name]["kind"] == "OBJECT", name
        assert {f["name"]: type_name(f["type"]) for f in introspected[name]["fields"]} == table(
            fields
        ), name


def test_every_input_type_has_fluents_name_fields_and_nullability(introspected) -> None:
    for name, fields in INPUTS.items():
        assert introspected[name]["kind"] == "INPUT_OBJECT", name
        assert {
            f["name"]: type_name(f["type"]) for f in introspected[name]["inputFields"]
        } == table(fields), name


def test_execution_mode_has_the_one_value_fluent_defines(introspected) -> None:
    assert [v["name"] for v in introspected["ExecutionMode"]["enumValues"]] == [
        "AWAIT_ORCHESTRATION"
    ]
    assert introspected["DateTime"]["kind"] == introspected["Json"]["kind"] == "SCALAR"


def test_the_checked_in_schema_is_the_one_served() -> None:
    assert (PROJECT_ROOT / "docs/schema.graphql").read_text(encoding="utf-8") == sdl()


def test_holdfast_graphql_schema_prints_the_checked_in_sdl(capsys) -> None:
    assert main(["graphql", "schema"]) == 0
    assert capsys.readouterr().out == (PROJECT_ROOT / "docs/schema.graphql").read_text(
        encoding="utf-8"
    )
    assert main(["graphql", "schema", "--check"]) == 0
